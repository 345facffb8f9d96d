:- module(p2p_network,
          [ network/1,                  % ?Goal
            network/2                   % ?Goal, +Options
          ]).
% The runtime's interface, not exported, so that goals from the network
% cannot name it:
%     take_network_calls/1,     % -Calls
%     network_deliver/3         % +Handle, +Answers, +Done
:- autoload(library(error), [domain_error/2, must_be/2, permission_error/3]).
:- autoload(library(lists), [member/2]).
:- autoload(library(option), [option/3]).
:- autoload(library(sandbox), [safe_goal/1]).
:- use_module(library(wasm), [await/2]).

/** <module> Goals asked of the whole network

network/1 runs a goal on every peer, this one included, and enumerates
the instances of the goal that the peers found, as they arrive:

==
?- network(cpu_load(Load)).
Load = 0.25 ;
Load = 1.5 ;
false.
==

Each peer runs the goal under library(sandbox), in a temporary module,
with the engine's inference and time limits per answer, and sends at
most limit(N) answers. A peer that cannot prove the goal, or does not
know its predicate, sends nothing. Answers come in the order they
arrive; the same answer from two peers comes twice. A goal from the
network may not call network/1,2 itself.

The engine talks to its host through two queues: the host takes the
opened and closed queries with take_network_calls/1 after every time
slice, and hands answers in with network_deliver/3. A query waits for
answers with await/2 of library(wasm), so it needs a yieldable query
(every query of the engine is one).
*/

:- dynamic
    outbound/1,                 % open(Handle, Goal, TimeoutMs, Limit) | close(Handle)
    answer/2,                   % Handle, Instance
    ended/1,                    % Handle
    open/1.                     % Handle: asked, and not yet closed

:- multifile
    sandbox:safe_primitive/1.

% network/2 checks the goal itself; a goal from the network that calls
% it is refused at run time (see network/2).
sandbox:safe_primitive(p2p_network:network(_)).
sandbox:safe_primitive(p2p_network:network(_, _)).

%!  network(?Goal) is nondet.
%
%   As network(Goal, []).

network(Goal) :-
    network(Goal, []).

%!  network(?Goal, +Options) is nondet.
%
%   True for each instance of Goal that a peer of the network proves,
%   as the peers' answers arrive. Goal must pass library(sandbox): the
%   peers run it there. Cut (or once/1) stops the query on every peer.
%   Options:
%
%     - timeout(+Seconds): how long answers are collected; default 2,
%       at most 10.
%     - limit(+Count): the most answers one peer sends; default 1000.
%
%   @error permission_error(call, sandboxed, G) if library(sandbox)
%   refuses Goal, or permission_error(call, network, Goal) in a goal
%   that came from the network.

network(Goal, Options) :-
    must_be(callable, Goal),
    must_be(acyclic, Goal),
    must_be(list, Options),
    option(timeout(Seconds), Options, 2),
    must_be(number, Seconds),
    (   Seconds > 0
    ->  true
    ;   domain_error(positive_number, Seconds)
    ),
    option(limit(Limit), Options, 1000),
    must_be(positive_integer, Limit),
    (   nb_current('$p2p_from_network', true)
    ->  permission_error(call, network, Goal)
    ;   true
    ),
    check_safe(Goal),
    TimeoutMs is min(10_000, ceiling(Seconds * 1000)),
    flag(p2p_network_handle, Last, Last + 1),
    Handle is Last + 1,
    copy_term(Goal, Asked),
    assertz(open(Handle)),
    assertz(outbound(open(Handle, Asked, TimeoutMs, Limit))),
    call_cleanup(instance(Handle, Goal), closed(Handle)).

% An unknown predicate is no reason to refuse: other peers may know it.
check_safe(Goal) :-
    catch(safe_goal(user:Goal), Error, true),
    (   var(Error)
    ->  true
    ;   Error = error(existence_error(procedure, _), _)
    ->  true
    ;   throw(Error)
    ).

instance(Handle, Goal) :-
    repeat,
    next_answer(Handle, Next),
    (   Next = answer(Instance)
    ->  Goal = Instance
    ;   !,
        fail
    ).

next_answer(Handle, Next) :-
    (   retract(answer(Handle, Instance))
    ->  Next = answer(Instance)
    ;   ended(Handle)
    ->  Next = end
    ;   await(p2p_network_wait(Handle), _),
        next_answer(Handle, Next)
    ).

closed(Handle) :-
    retract(open(Handle)),
    retractall(answer(Handle, _)),
    (   retract(ended(Handle))
    ->  true
    ;   assertz(outbound(close(Handle)))
    ).

%!  take_network_calls(-Calls) is det.
%
%   Calls are the queries opened and closed since the last call, oldest
%   first: open(Handle, Goal, TimeoutMs, Limit) and close(Handle).

take_network_calls(Calls) :-
    findall(Call, retract(outbound(Call)), Calls).

%!  network_deliver(+Handle, +Answers, +Done) is det.
%
%   Answers (a list of instances) arrived for query Handle; with Done
%   `true`, no more will. Answers for a closed query are dropped.

network_deliver(Handle, Answers, Done) :-
    must_be(integer, Handle),
    must_be(list, Answers),
    must_be(boolean, Done),
    (   open(Handle)
    ->  forall(member(Instance, Answers), assertz(answer(Handle, Instance))),
        (   Done == true
        ->  assertz(ended(Handle))
        ;   true
        )
    ;   true
    ).
