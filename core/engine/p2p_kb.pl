:- module(p2p_kb,
          [ shared/1                    % +PredicateIndicators
          ]).
% The runtime's interface, not exported, so that goals from the network
% cannot name it (library(sandbox) would let some of it through):
%     kb_take_changes/2,        % -Changes, -Fresh
%     kb_bind_ids/1,            % +Ids
%     kb_apply/2,               % +Ops, -Refused
%     kb_begin_restore/0,
%     kb_declare/1,             % +PredicateIndicators
%     kb_end_restore/0,
%     kb_update_datagrams/2,    % +Texts, -Results (the UDP bridge's way in)
%     program_predicates/2      % +Text, -PredicateIndicators (the page's "Share" of a program)
:- autoload(library(apply), [foldl/4, maplist/3]).
:- autoload(library(error), [instantiation_error/1, must_be/2, domain_error/2, type_error/2]).
:- autoload(library(lists), [list_to_set/2, member/2]).
:- use_module(library(broadcast), [listen/3]).
:- use_module(p2p_engine, [message_text/2]).
:- use_module(p2p_kb_check, [clause_parts/3, unsafe_body/2, foreign_head/2, refusal_error/3]).
:- use_module(p2p_udp, [udp_string_message/3]).

/** <module> Shared predicates: the engine's side of replicated knowledge

A predicate declared shared is dynamic in module `user`, and the
clauses it gains and loses on this engine (assertz/1, asserta/1,
retract/1, retractall/1, erase/1, and loading a program) are reported
to the host, which makes events of them for the network. Clauses from
the network come in through kb_apply/2 and are not reported back.

==
?- shared(likes/2).
?- assertz(likes(alice, bob)).      % reported: an assert, with a new id
?- retract(likes(alice, bob)).      % reported: a retract of that id
?- assertz((likes(X, Y) :- shell(X))).
ERROR: No permission to assert shared_clause `likes(_A,_B):-shell(_A)'
       (the sandbox refuses its body: ...)
==

Every clause of a shared predicate has an id, the 16 random bytes of
the network event that asserted it, here an atom of 32 hex digits.
A prolog_listen/2 closure on each shared predicate queues the changes;
after every time slice the runtime (kb-runtime.ts) takes them with
kb_take_changes/2, makes an id for each new clause with
crypto.getRandomValues() and gives the ids back with kb_bind_ids/1.
clause_id/2 maps clause references to ids both ways (SWI-Prolog indexes
either argument on demand).

A request from the network for a goal of a shared predicate,
broadcast_request(likes(X, Y)), is answered from its clauses by a
listen/3 handler of this module.

SWI-Prolog reports no change when it reloads a program (the clauses the
new text lacks go silently) or abolishes a predicate. So after a program
is loaded, the shared clauses that programs loaded are swept for erased
ones, which are then reported. abolish/1 of a shared predicate goes
unreported and removes its listener (declare it again), and so does a
program that defines a shared predicate without declaring it: SWI-Prolog
wipes it and makes it static (a local redefinition, not a retract that
the network should follow).
*/

:- dynamic
    shared_predicate/2,         % Name, Arity
    clause_id/2,                % ?ClauseRef, ?Id
    change/1,                   % a local change the runtime did not take yet
    fresh/2,                    % ClauseRef, N: taken by the runtime, waiting for its id
    mode/1,                     % remote (kb_apply/2 runs) or replay (kb_begin_restore/0)
    replayed/2,                 % VariantKey, ClauseRef: made again by a replay
    from_file/1,                % ClauseRef: a clause with an id that a program loaded
    sweep_due/0.

%!  shared(+PredicateIndicators) is det.
%
%   Declares each predicate shared: dynamic in module `user`, its local
%   changes reported to the network, its clauses answering requests
%   from the network. The clauses a dynamic predicate has already are
%   reported as asserted. PredicateIndicators is Name/Arity, a list or
%   a conjunction of them. Declaring a predicate again does no harm.
%   Goals from the network may not call shared/1 (library(sandbox)
%   refuses it).
%
%   @error domain_error(shared_predicate, PI) for a built-in or library
%   predicate.
%   @error permission_error(modify, static_procedure, PI) for a static
%   predicate of `user`.
%   @error permission_error(assert, shared_clause, Clause) if a clause
%   the predicate has already is unsafe (p2p_kb_check.pl); the
%   predicate is then not shared.

shared(Spec) :-
    (   var(Spec)
    ->  instantiation_error(Spec)
    ;   Spec == []
    ->  true
    ;   Spec = [H|T]
    ->  shared(H),
        shared(T)
    ;   Spec = (A, B)
    ->  shared(A),
        shared(B)
    ;   Spec = user:PI
    ->  shared(PI)
    ;   Spec = Name/Arity
    ->  must_be(atom, Name),
        must_be(nonneg, Arity),
        functor(Head, Name, Arity),
        (   shared_head(Head)
        ->  true
        ;   foreign_head(Head, 'builtin-head')
        ->  domain_error(shared_predicate, Spec)
        ;   true
        ),
        declare(Name, Arity)
    ;   type_error(predicate_indicator, Spec)
    ).

declare(Name, Arity) :-
    functor(Head, Name, Arity),
    dynamic(user:Name/Arity),
    (   shared_predicate(Name, Arity)
    ->  listen_clauses(Head)
    ;   forall(clause(user:Head, Body, _),
               (   Body \== true,
                   unsafe_body(Body, Why)
               ->  clause_term(Head, Body, Clause),
                   refusal_error(Clause, Why, Error),
                   throw(Error)
               ;   true
               )),
        listen_clauses(Head),
        assertz(shared_predicate(Name, Arity)),
        assertz(change(declared(Name, Arity))),
        forall(clause(user:Head, _, Ref), asserted(Ref, false))
    ).

listen_clauses(Head) :-
    prolog_unlisten(user:Head, p2p_kb:clause_event),
    prolog_listen(user:Head, p2p_kb:clause_event).

% The predicate_property/2 of dynamic, five times faster (kb_apply/2
% asks for every op).
shared_head(Head) :-
    functor(Head, Name, Arity),
    shared_predicate(Name, Arity),
    '$get_predicate_attribute'(user:Head, dynamic, 1).

:- multifile
    sandbox:safe_meta/2.

% Goals from the network may call nothing of this module (shared/1
% included) or of p2p_kb_check. library(sandbox) checks a qualified goal
% as if it ran in the module it names, where an assertz/1 of a fact of
% that module counts as safe: p2p_kb:kb_begin_restore would pass.
sandbox:safe_meta(p2p_kb:Goal, _) :-
    throw(error(permission_error(call, sandboxed, Goal), _)).
sandbox:safe_meta(p2p_kb_check:Goal, _) :-
    throw(error(permission_error(call, sandboxed, p2p_kb_check:Goal), _)).

%!  clause_event(+Action, +ClauseRef) is det.
%
%   The prolog_listen/2 closure of every shared predicate. A rule whose
%   body is unsafe (p2p_kb_check.pl) is erased again and the assert
%   raises refusal_error/3's error. Under kb_apply/2 it does nothing;
%   while a replaced worker replays its programs it notes the clauses
%   it sees, for kb_apply/2 to give them their ids again.

clause_event(Action, Ref) :-
    (   mode(remote)
    ->  true
    ;   local_event(Action, Ref)
    ).

local_event(assertz, Ref) :-
    !,
    asserted(Ref, false).
local_event(asserta, Ref) :-
    !,
    asserted(Ref, true).
local_event(retract, Ref) :-
    !,
    (   mode(replay),
        retract(replayed(_, Ref))
    ->  true
    ;   assertz(change(retract(Ref)))
    ).
local_event(_, _).

asserted(Ref, Front) :-
    clause(user:Head, Body, Ref),
    clause_term(Head, Body, Clause),
    (   Body \== true,
        unsafe_body(Body, Why)
    ->  quietly_erase(Ref),
        refusal_error(Clause, Why, Error),
        throw(Error)
    ;   mode(replay)
    ->  variant_sha1(Clause, Key),
        assertz(replayed(Key, Ref))
    ;   assertz(change(assert(Ref, Clause, Front))),
        (   source_location(_, _)   % loading a program: cheap to ask
        ->  note_file_clause(Ref)
        ;   true
        )
    ).

note_file_clause(Ref) :-
    (   clause_property(Ref, file(_))
    ->  assertz(from_file(Ref))
    ;   true
    ).

clause_term(Head, true, Head) :-
    !.
clause_term(Head, Body, (Head :- Body)).

quietly_erase(Ref) :-
    setup_call_cleanup(
        asserta(mode(remote)),
        catch(erase(Ref), error(existence_error(_, _), _), true),
        retract(mode(remote))).

:- multifile
    user:message_hook/3.

user:message_hook(load_file(Done), _, _) :-
    compound(Done),
    compound_name_arity(Done, done, _),
    \+ p2p_kb:sweep_due,
    assertz(p2p_kb:sweep_due),
    fail.

%!  kb_take_changes(-Changes, -Fresh) is det.
%
%   Changes are the local changes since the last call, oldest first:
%   assert(N, Clause, Front) for the N-th new clause (from 0),
%   retract(Id) or retract(new(N)) for a clause that went, and
%   declared(Name, Arity) for a predicate declared shared. The runtime
%   then calls kb_bind_ids/1 with Fresh new ids.

kb_take_changes(Changes, Fresh) :-
    (   retract(sweep_due)
    ->  forall(( from_file(Ref), clause_property(Ref, erased) ),
               ( retract(from_file(Ref)),
                 assertz(change(retract(Ref)))
               ))
    ;   true
    ),
    findall(Change, retract(change(Change)), Queued),
    foldl(numbered, Queued, Changes0, 0, Fresh),
    exclude_ignored(Changes0, Changes).

numbered(assert(Ref, Clause, Front), assert(N, Clause, Front), N, N1) :-
    !,
    assertz(fresh(Ref, N)),
    N1 is N + 1.
numbered(retract(Ref), Change, N, N) :-
    !,
    retractall(from_file(Ref)),
    (   retract(clause_id(Ref, Id))
    ->  Change = retract(Id)
    ;   retract(fresh(Ref, M))
    ->  Change = retract(new(M))
    ;   Change = ignored        % it never had an id: it stayed local
    ).
numbered(Change, Change, N, N).

exclude_ignored([], []).
exclude_ignored([ignored|T0], T) :-
    !,
    exclude_ignored(T0, T).
exclude_ignored([H|T0], [H|T]) :-
    exclude_ignored(T0, T).

%!  kb_bind_ids(+Ids) is det.
%
%   Ids (one for each new clause of the last kb_take_changes/2, in
%   order) become the ids of those clauses that are still there. An id
%   `none` leaves its clause without one: it was not reported.

kb_bind_ids(Ids) :-
    foldl(bind_id, Ids, 0, _).

bind_id(Id, N, N1) :-
    (   retract(fresh(Ref, N)),
        Id \== none
    ->  assertz(clause_id(Ref, Id))
    ;   true
    ),
    N1 is N + 1.

%!  kb_apply(+Ops, -Refused) is det.
%
%   Applies changes from the network, in order, without reporting them.
%   Ops holds assert(Id, Clause, Front) and retract(Id). An assert of a
%   known id and a retract of an unknown one do nothing. A clause for a
%   predicate that is not declared here declares it shared: knowledge
%   another peer shares is then queryable on every peer, and a local
%   assert into it is shared too. Refused clauses are left out;
%   Refused holds refused(Id, Reason) for each, Reason one of
%   'not-a-clause', 'not-callable-head', 'builtin-head', 'local-head'
%   (a predicate of this peer that is not shared) and 'unsafe-body'.

kb_apply(Ops, Refused) :-
    setup_call_cleanup(
        asserta(mode(remote)),
        foldl(apply_op_caught, Ops, Refused, []),
        retract(mode(remote))).

% An op that raises is refused alone: the others still apply.
apply_op_caught(Op, Refused0, Refused) :-
    catch(apply_op(Op, Refused0, Refused), Error, true),
    (   var(Error)
    ->  true
    ;   Op = assert(Id, _, _)
    ->  Refused0 = [refused(Id, 'not-a-clause')|Refused]
    ;   Refused0 = Refused
    ).

apply_op(retract(Id), Refused, Refused) :-
    !,
    (   retract(clause_id(Ref, Id))
    ->  retractall(from_file(Ref)),
        catch(erase(Ref), error(existence_error(_, _), _), true)
    ;   true
    ).
apply_op(assert(Id, Clause, Front), Refused0, Refused) :-
    (   clause_id(_, Id)
    ->  Refused0 = Refused
    ;   remote_refusal(Clause, Reason)
    ->  Refused0 = [refused(Id, Reason)|Refused]
    ;   adopted(Id, Clause)
    ->  Refused0 = Refused
    ;   (   Front == true
        ->  asserta(user:Clause, Ref)
        ;   assertz(user:Clause, Ref)
        ),
        assertz(clause_id(Ref, Id)),
        Refused0 = Refused
    ).

% Fails for a clause that may be asserted, after declaring its predicate
% shared if it was not.
remote_refusal(Clause, Reason) :-
    (   clause_parts(Clause, Head, Body)
    ->  (   \+ shared_head(Head),
            foreign_head(Head, Reason0)
        ->  Reason = Reason0
        ;   Body \== true,
            unsafe_body(Body, _)
        ->  Reason = 'unsafe-body'
        ;   shared_head(Head)
        ->  fail
        ;   functor(Head, Name, Arity),
            declare(Name, Arity),
            fail
        )
    ;   Reason = 'not-a-clause'
    ).

% A clause a replay made again takes its id back instead of being
% asserted twice.
adopted(Id, Clause) :-
    mode(replay),
    variant_sha1(Clause, Key),
    replayed(Key, Ref),
    clause(user:Head, Body, Ref),
    clause_term(Head, Body, Existing),
    Existing =@= Clause,
    !,
    retract(replayed(Key, Ref)),
    assertz(clause_id(Ref, Id)),
    note_file_clause(Ref).

%!  kb_begin_restore is det.
%
%   Called by the runtime of a worker that replaces one that failed,
%   before its programs are replayed: until kb_end_restore/0, clauses
%   that appear are not reported, and kb_apply/2 gives those equal to a
%   clause it applies the id of that clause.

kb_begin_restore :-
    retractall(mode(replay)),
    assertz(mode(replay)).

%!  kb_declare(+PredicateIndicators) is det.
%
%   Declares every Name/Arity of the list shared, as shared/1, leaving
%   out those that cannot be shared (any more).

kb_declare(PIs) :-
    forall(member(PI, PIs),
           catch(shared(PI), _, true)).

%!  kb_end_restore is det.
%
%   Ends the restore: the clauses the replay made that no kb_apply/2
%   gave an id go, as the network no longer has them.

kb_end_restore :-
    retractall(mode(replay)),
    setup_call_cleanup(
        asserta(mode(remote)),
        forall(retract(replayed(_, Ref)),
               catch(erase(Ref), error(existence_error(_, _), _), true)),
        retract(mode(remote))).

%!  answer_shared(?Term) is nondet.
%
%   The listen/3 handler that answers broadcast_request(Term) from the
%   network when Term is a goal of a shared predicate: each solution of
%   Term is an answer. Rule bodies passed the checks of
%   p2p_kb_check.pl. Fails at once under broadcast/1, which has no
%   answers to collect.

:- listen(p2p_kb, Term, p2p_kb:answer_shared(Term)).

answer_shared(Term) :-
    callable(Term),
    shared_head(Term),
    \+ ( prolog_current_frame(Frame),
         prolog_frame_attribute(Frame, parent_goal, broadcast:broadcast(_))
       ),
    call(user:Term).

%!  kb_update(+Change) is semidet.
%
%   Applies a change that arrived as a message, the convention of the
%   UDP bridge: Change is assert(Clause), asserta(Clause), retract(Clause)
%   or retractall(Head) of a shared predicate, done as the ordinary
%   predicate of that name, so it is reported and replicated like any
%   other change. Fails when the predicate is not shared: the caller then
%   treats the message as an ordinary one. An unsafe rule raises the error
%   assertz/1 raises for it.
kb_update(Change) :-
    compound(Change),
    compound_name_arguments(Change, Action, [Clause]),
    update_action(Action),
    callable(Clause),
    (   Clause = (Head :- _)
    ->  true
    ;   Head = Clause
    ),
    callable(Head),
    functor(Head, Name, Arity),
    shared_predicate(Name, Arity),
    update(Action, Clause).

update_action(assert).
update_action(asserta).
update_action(retract).
update_action(retractall).

update(assert, Clause)     :- assertz(user:Clause).
update(asserta, Clause)    :- asserta(user:Clause).
update(retract, Clause)    :- ignore(retract(user:Clause)).
update(retractall, Head)   :- retractall(user:Head).

%!  kb_update_datagrams(+Texts:list, -Results:list) is det.
%
%   The UDP bridge's way in, in one call: each datagram text (the
%   runtime checked its size and nesting) is read as
%   udp_string_message/3 reads it, and a send(Change) or request(Id,
%   Change) whose Change is a kb_update/1 change of a shared predicate
%   is done here, in order, so that its term never crosses to the host
%   and back. Each result is
%
%     - change(send, Outcome) or change(request(Id), Outcome): a change
%       done (Outcome `done`, or done(Done) for a request: the change as
%       done, its reply, a retract binding its variables) or refused
%       (Outcome error(Text), the error as SWI-Prolog prints it);
%     - message(Message): any other send/1, request/2 or reply/2, a
%       change of a predicate that is not shared included;
%     - unread(Status): Status of udp_string_message/3 (`no_prefix`,
%       `syntax` or `shape`).

kb_update_datagrams(Texts, Results) :-
    must_be(list, Texts),
    maplist(datagram_result, Texts, Results).

datagram_result(Text, Result) :-
    udp_string_message(Text, Message, Status),
    (   Status == ok
    ->  message_result(Message, Result)
    ;   Result = unread(Status)
    ).

message_result(send(Change), change(send, Outcome)) :-
    update_outcome(Change, Outcome0),
    Outcome0 \== not_shared,
    !,
    (   Outcome0 = applied(_)
    ->  Outcome = done
    ;   Outcome = Outcome0
    ).
message_result(request(Id, Change), change(request(Id), Outcome)) :-
    update_outcome(Change, Outcome0),
    Outcome0 \== not_shared,
    !,
    (   Outcome0 = applied(Done)
    ->  Outcome = done(Done)
    ;   Outcome = Outcome0
    ).
message_result(Message, message(Message)).

% applied(Change) with the change as it was done, not_shared (kb_update/1
% failed: an ordinary message), or error(Text).
update_outcome(Change, Outcome) :-
    catch(( kb_update(Change) -> Outcome = applied(Change) ; Outcome = not_shared ),
          Error,
          ( message_text(Error, Text), Outcome = error(Text) )).

%!  program_predicates(+Text, -PIs:list) is det.
%
%   PIs are the predicates Text has clauses for (Name/Arity, a DCG rule
%   counting its two list arguments), each once, in the order of their
%   first clause. Directives, module-qualified heads and terms that do
%   not read are skipped: consulting the text reports those.

program_predicates(Text, PIs) :-
    must_be(string, Text),
    setup_call_cleanup(
        open_string(Text, In),
        read_predicates(In, PIs0),
        close(In)),
    list_to_set(PIs0, PIs).

read_predicates(In, PIs) :-
    catch(read_term(In, Term, []), error(syntax_error(_), _), Term = '$unreadable'),
    (   Term == end_of_file
    ->  PIs = []
    ;   clause_predicate(Term, PI)
    ->  PIs = [PI|Rest],
        read_predicates(In, Rest)
    ;   read_predicates(In, PIs)
    ).

clause_predicate(Term, _) :-
    var(Term),
    !,
    fail.
clause_predicate((:- _), _) :- !, fail.
clause_predicate((Head --> _), Name/Arity) :-
    !,
    callable(Head),
    Head \= _:_,
    functor(Head, Name, Arity0),
    Arity is Arity0 + 2.
clause_predicate((Head :- _), PI) :-
    !,
    clause_predicate(Head, PI).
clause_predicate(Head, Name/Arity) :-
    callable(Head),
    Head \= _:_,
    Head \== '$unreadable',
    functor(Head, Name, Arity).
