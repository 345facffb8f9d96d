:- module(p2p_kb_check,
          [ clause_parts/3,             % +Clause, -Head, -Body
            unsafe_body/2,              % +Body, -Why
            foreign_head/2,             % +Head, -Reason
            refusal_error/3,            % +Clause, +Why, -Error
            checking/1                  % :Goal
          ]).
:- autoload(library(occurs), [sub_term/2]).
:- autoload(library(sandbox), [safe_goal/1]).
:- use_module(p2p_engine, [message_text/2]).

/** <module> What a clause of a shared predicate may be

A shared predicate (p2p_kb.pl) holds facts and rules that any peer of
the network may have written, and the peers answer requests from the
network with them. So every clause, local or remote, is checked before
it stays in the database:

  - Its body, unless `true`, passes library(sandbox)'s safe_goal/1 as a
    goal of module `user`, where it runs. While that check runs, a call
    of a predicate that is not defined (nor autoloadable) counts as
    safe: calling it raises an existence error, and a rule may arrive
    before the clauses of the predicates it calls (the events of a
    network come in any order).
  - Its body does not change the database. safe_goal/1 lets assertz/1
    and retract/1 of facts of the module through, and in a shared rule
    that module is `user`: a request from the network answered by
    `p(X) :- retract(likes(_, _))` would wipe likes/2 on every peer it
    reaches, and the wipe would be replicated. Any sub-term named after
    a database predicate (assertz, retract, ...) refuses the clause,
    data included: the check errs on the safe side.

==
?- unsafe_body(member(X, [a]), Why).
false.

?- unsafe_body(shell(ls), Why).
Why = sandbox(error(permission_error(call, sandboxed, shell(_, _)), _)).

?- unsafe_body((likes(a, X), retract(likes(a, X))), Why).
Why = modifies(retract).
==
*/

%!  clause_parts(+Clause, -Head, -Body) is semidet.
%
%   Head and Body of Clause, Body `true` for a fact; fails if Clause is
%   not a term that assert/1 takes: not callable, or a body that is not
%   callable.

clause_parts(Clause, Head, Body) :-
    callable(Clause),
    (   Clause = (Head :- Body)
    ->  callable(Body)
    ;   Head = Clause,
        Body = true
    ).

%!  unsafe_body(+Body, -Why) is semidet.
%
%   True if Body may not be the body of a clause of a shared predicate.
%
%   @arg Why is modifies(Name), Name the database predicate the body
%   names, or sandbox(Error), the error of safe_goal/1.

unsafe_body(Body, modifies(Name)) :-
    sub_term(Sub, Body),
    callable(Sub),
    functor(Sub, Name, _),
    modifying(Name),
    !.
unsafe_body(Body, sandbox(Error)) :-
    catch(checking(safe_goal(user:Body)), Error, true),
    nonvar(Error).

modifying(assert).
modifying(asserta).
modifying(assertz).
modifying(retract).
modifying(retractall).
modifying(erase).
modifying(abolish).

%!  checking(:Goal) is semidet.
%
%   Calls Goal (a sandbox check) with the leniency for undefined
%   predicates of this module on.

:- meta_predicate checking(0).

checking(Goal) :-
    setup_call_cleanup(
        b_setval('$p2p_kb_checking', true),
        once(Goal),
        b_setval('$p2p_kb_checking', false)).

:- multifile
    sandbox:safe_meta/2.

% Consulted by safe_goal/1 after its own rules and before it reads the
% clauses of the predicate: Goal is safe (it calls nothing) when it is
% undefined in `user` while a shared clause is checked.
sandbox:safe_meta(user:Goal, []) :-
    p2p_kb_check:undefined_while_checking(Goal).

undefined_while_checking(Goal) :-
    nb_current('$p2p_kb_checking', true),
    callable(Goal),
    functor(Goal, Name, Arity),
    \+ '$in_library'(Name, Arity, _),
    \+ predicate_property(user:Goal, defined).

%!  foreign_head(+Head, -Reason) is semidet.
%
%   True if a remote clause may not have Head because its predicate
%   belongs to someone else: SWI-Prolog, a library, one of the p2p
%   modules, or a local predicate of `user` that is not shared.
%   Call only for a Head that is not of a shared predicate.
%
%   @arg Reason is 'not-callable-head', 'builtin-head' or 'local-head'.

foreign_head(Head, Reason) :-
    (   \+ callable(Head)
    ->  Reason = 'not-callable-head'
    ;   Head = _:_
    ->  Reason = 'not-callable-head'
    ;   builtin_head(Head)
    ->  Reason = 'builtin-head'
    ;   predicate_property(user:Head, defined)
    ->  Reason = 'local-head'
    ).

builtin_head(Head) :-
    predicate_property(system:Head, defined),
    !.
builtin_head(Head) :-
    functor(Head, Name, Arity),
    '$in_library'(Name, Arity, _),
    !.
builtin_head(Head) :-
    predicate_property(user:Head, imported_from(_)).

%!  refusal_error(+Clause, +Why, -Error) is det.
%
%   Error is what the assert of Clause into a shared predicate raises
%   when unsafe_body/2 gives Why:
%   error(permission_error(assert, shared_clause, Clause), context(_, Text)).

refusal_error(Clause, Why, error(permission_error(assert, shared_clause, Clause), context(_, Text))) :-
    why_text(Why, Text).

why_text(modifies(Name), Text) :-
    format(string(Text), "a shared clause may not change the database; this one names ~q", [Name]).
why_text(sandbox(Error), Text) :-
    message_text(Error, Text0),
    string_concat("the sandbox refuses its body: ", Text0, Text).
