/*  swipl bench/latency_listener.pl PORT

    A stock swipl on 239.0.0.2:PORT (library(udp_broadcast), scope `bench`) that prints, for each
    `lat(N, SentMicros)` message it hears, `lat N Micros` with the one-way delay from the sender's
    clock to this listen/2 handler (both read the same machine's wall clock).
*/
:- use_module(library(udp_broadcast)).
:- use_module(library(broadcast)).

:- initialization(main, main).

main :-
    current_prolog_flag(argv, [PortText|_]),
    atom_number(PortText, Port),
    udp_broadcast_initialize(ip(239,0,0,2), [method(multicast), port(Port), scope(bench)]),
    listen(lat(N, Sent), report(N, Sent)),
    format("ready~n"), flush_output,
    thread_get_message(_).

report(N, Sent) :-
    get_time(Now),
    Delay is round(Now * 1_000_000) - Sent,
    format("lat ~w ~w~n", [N, Delay]),
    flush_output.
