:- module(p2p_udp,
          [ udp_message_string/2,       % +Message, -String
            udp_string_message/3        % +String, -Message, -Status
          ]).
:- autoload(library(error), [must_be/2, domain_error/2]).

/** <module> The text format of library(udp_broadcast)

SWI-Prolog's library(udp_broadcast) sends every message as a datagram
holding the line `%-prolog-` and the message term, written quoted with
operators ignored: this is udp_term_string/3 of that library, which the
WASM build lacks (it has no sockets). The message is one of send(Term),
request(Id, Term) and reply(Id, Term); stock swipl 9.0's receiving
thread dies on anything else, so only those are written and read.

==
?- udp_message_string(send(temperature(kitchen, 21.5)), S).
S = "%-prolog-\nsend(temperature(kitchen,21.5))".

?- udp_string_message("%-prolog-\nhello", M, Status).
Status = shape.
==
*/

%!  udp_message_string(+Message, -String) is det.
%
%   String is the datagram text of Message, exactly as
%   udp_term_string/3 of library(udp_broadcast) writes it.
%
%   @error domain_error(udp_message, Message) if Message is not
%   send/1, request/2 or reply/2.

udp_message_string(Message, String) :-
    (   udp_message(Message)
    ->  format(string(String), '%-prolog-\n~W',
               [ Message, [ignore_ops(true), quoted(true)] ])
    ;   domain_error(udp_message, Message)
    ).

%!  udp_string_message(+String, -Message, -Status) is det.
%
%   Reads a datagram text as udp_term_string/3 does: String must start
%   with the line `%-prolog-` (the rest of it is a comment to the
%   reader) and hold one term, read with syntax_errors(quiet).
%
%   @arg Status is `ok` (Message is bound), `no_prefix`, `syntax` or
%   `shape` (a term that is not a message).

udp_string_message(String, Message, Status) :-
    must_be(string, String),
    (   \+ sub_string(String, 0, _, _, "%-prolog-\n")
    ->  Status = no_prefix
    ;   catch(term_string(Term, String, [syntax_errors(quiet)]), _, fail)
    ->  (   udp_message(Term)
        ->  Message = Term,
            Status = ok
        ;   Status = shape
        )
    ;   Status = syntax
    ).

udp_message(Term) :-
    compound(Term),
    compound_name_arity(Term, Name, Arity),
    udp_shape(Name, Arity).

udp_shape(send, 1).
udp_shape(request, 2).
udp_shape(reply, 2).
