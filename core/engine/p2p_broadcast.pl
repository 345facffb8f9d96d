:- module(p2p_broadcast,
          [ take_published/1            % -Terms
          ]).
:- autoload(library(error), [must_be/2]).
:- use_module(library(broadcast), [listen/3]).

/** <module> broadcast(p2p(Term)) reaches the network

A program in the engine sends Term to every peer with

==
?- broadcast(p2p(temperature(kitchen, 21.5))).
==

The listener below keeps Term until the JavaScript runtime takes it with
take_published/1 (after every time slice) and hands it to the host's
`onPublish`. Messages from the network arrive as broadcast(Term), so the
listen/2,3 handlers of the program see them as they see local ones.

broadcast_request(p2p(Term)) is not carried to the network yet: the
listener takes part in broadcast/1 only, so such a request has no
answers.
*/

:- dynamic
    published/1.

:- listen(p2p_broadcast, p2p(Term), p2p_broadcast:publish(Term)).

:- multifile
    sandbox:safe_meta/2.

% Goals from the network may not take what was published, nor change the
% listeners of library(broadcast) (unlisten(_) would silence every
% handler): library(sandbox) counts the assert/1 and retract/1 of a
% module's own facts, by the module's own predicates, as safe.
sandbox:safe_meta(p2p_broadcast:Goal, _) :-
    throw(error(permission_error(call, sandboxed, Goal), _)).
sandbox:safe_meta(broadcast:Goal, _) :-
    throw(error(permission_error(call, sandboxed, Goal), _)).

%!  publish(+Term) is semidet.
%
%   Keeps Term for take_published/1 when called by broadcast/1; fails
%   under broadcast_request/1.
%
%   @error type_error(acyclic_term, Term) for a cyclic Term.

publish(Term) :-
    prolog_current_frame(Frame),
    prolog_frame_attribute(Frame, parent_goal, broadcast:broadcast(_)),
    !,
    must_be(acyclic, Term),
    assertz(published(Term)).

%!  take_published(-Terms) is det.
%
%   Terms are the terms published since the last call, oldest first.

take_published(Terms) :-
    findall(Term, retract(published(Term)), Terms).
