/*  The program every node peer of `npm run bench` loads (--consult bench/bench_peer.pl).

    Shared predicates, and stamps of the moment an event is applied in this peer's engine:
    - lat/2 (latency) and scale/2 (scale): a prolog_listen/2 closure on the predicate runs when
      a clause is asserted into this engine, which for a clause from the network is when the
      replica hands it to Prolog (kb_apply/2, after the event is stored). It prints
          applied Name N SentMicros NowMicros
      to the node peer's stdout, which the bench reads. In a browser page, whose output goes to
      its console, the bench asserts bench_keep_stamps first: the stamps are then kept as
      bench_stamp(Name, N, SentMicros, NowMicros) facts for the bench to collect.
    - lat_msg/2 (message latency): a listen/2 handler, which runs when a network message is
      delivered to this engine (broadcast/1); it prints  heard N SentMicros NowMicros  (in a
      page that keeps stamps: bench_stamp(lat_msg, N, SentMicros, NowMicros)).
    - tp/2 (throughput) and seed/2 (catch-up) are only counted (the peer's /healthz).
    - broadcast_request(bench_count(Name, Arity, Count)) answers how many clauses this engine
      holds for Name/Arity (the catch-up step asks it through the UDP bridge).

    NowMicros is the wall clock in microseconds from JavaScript's performance.timeOrigin +
    performance.now(): SWI-Prolog's get_time/1 in the WASM build only has milliseconds. Both the
    bench and the engine read the same machine clock. Each stamp is flushed on its own, so that
    it reaches the node peer's stdout as one whole line.
*/
:- use_module(library(broadcast)).

:- shared(lat/2).
:- shared(scale/2).
:- shared(tp/2).

:- prolog_listen(user:lat(_, _), bench_applied(lat)).
:- prolog_listen(user:scale(_, _), bench_applied(scale)).

:- listen(lat_msg(N, Sent), bench_heard(N, Sent)).
:- listen(bench_count(Name, Arity, Count), bench_count(Name, Arity, Count)).

bench_now(Micros) :-
    catch(( T := eval("performance.timeOrigin + performance.now()"),
            Micros is round(T * 1000)
          ),
          _,
          ( get_time(S),
            Micros is round(S * 1000000)
          )).

:- dynamic bench_keep_stamps/0, bench_stamp/4.

bench_applied(Name, assertz, Ref) :-
    !,
    bench_now(Now),
    (   clause(user:Head, true, Ref),
        Head =.. [Name, N, Sent]
    ->  bench_stamp_out(Name, N, Sent, Now)
    ;   true
    ).
bench_applied(_, _, _).

bench_stamp_out(Name, N, Sent, Now) :-
    bench_keep_stamps,
    !,
    assertz(bench_stamp(Name, N, Sent, Now)).
bench_stamp_out(Name, N, Sent, Now) :-
    format("applied ~w ~w ~w ~w~n", [Name, N, Sent, Now]),
    flush_output.

bench_heard(N, Sent) :-
    bench_now(Now),
    (   bench_keep_stamps
    ->  assertz(bench_stamp(lat_msg, N, Sent, Now))
    ;   format("heard ~w ~w ~w~n", [N, Sent, Now]),
        flush_output
    ).

bench_count(Name, Arity, Count) :-
    atom(Name),
    integer(Arity),
    functor(Head, Name, Arity),
    (   predicate_property(user:Head, number_of_clauses(Count))
    ->  true
    ;   Count = 0
    ).
