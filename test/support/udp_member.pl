/*  A stock SWI-Prolog member of a UDP broadcast group, driven by a test over stdin.

    swipl test/support/udp_member.pl PORT [answer]

    Joins 239.0.0.2:PORT with library(udp_broadcast) in scope `s`, prints every message it hears
    as `heard Term` (temperature/2 and echo/1), keeps `seq(Sender, N)` messages for seq_report/1, and (with `answer`) answers
    `number(X)` requests with 1..5. Then it runs each goal read from stdin and prints `done`.
*/
:- module(udp_member, []).
:- use_module(library(udp_broadcast)).
:- use_module(library(broadcast)).
:- use_module(library(lists)).

:- initialization(main, main).

:- dynamic got/2.

main :-
    current_prolog_flag(argv, [PortText|Flags]),
    atom_number(PortText, Port),
    udp_broadcast_initialize(ip(239,0,0,2), [method(multicast), port(Port), scope(s)]),
    listen(temperature(Where, Degrees), heard(temperature(Where, Degrees))),
    listen(echo(Term), heard(echo(Term))),
    listen(seq(Sender, N), assertz(got(Sender, N))),
    listen(ok(N), assertz(got(ok, N))),
    (   memberchk(answer, Flags)
    ->  listen(number(X), between(1, 5, X))
    ;   true
    ),
    format("ready~n"), flush_output,
    serve.

heard(Term) :-
    format("heard ~q~n", [Term]),
    flush_output.

serve :-
    read_term(user_input, Goal, []),
    (   Goal == end_of_file
    ->  halt
    ;   catch(Goal, Error, (print_message(error, Error))),
        format("done~n"), flush_output,
        serve
    ).

%!  seq_report(+Sender) is det.
%
%   Prints how many `seq(Sender, N)` messages arrived, whether they are exactly 1..Count in
%   order, and how many were duplicates.
seq_report(Sender) :-
    findall(N, got(Sender, N), Ns),
    length(Ns, Count),
    sort(Ns, Unique),
    length(Unique, UniqueCount),
    Duplicates is Count - UniqueCount,
    (   numlist(1, Count, Ns) -> InOrder = true ; InOrder = false ),
    format("seq ~w count=~w in_order=~w duplicates=~w~n", [Sender, Count, InOrder, Duplicates]),
    flush_output.
