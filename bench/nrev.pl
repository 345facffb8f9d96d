/*  Naive reverse of a 30-element list, the classic LIPS benchmark: one nrev/2 of 30 elements is
    496 logical inferences. Loaded by the native swipl and by the engine (bench/engine.ts), which
    call nrev_lips(Iterations, LIPS): the time of Iterations runs, less that of an empty loop of
    as many, in wall-clock seconds.

        swipl bench/nrev.pl -g "nrev_lips(30000, L), print(L), nl" -t halt
*/
app([], L, L).
app([H|T], L, [H|R]) :-
    app(T, L, R).

nrev([], []).
nrev([H|T], R) :-
    nrev(T, RT),
    app(RT, [H], R).

nrev_lips(Iterations, LIPS) :-
    numlist(1, 30, List),
    get_time(T0),
    nrev_loop(Iterations, List),
    get_time(T1),
    empty_loop(Iterations, List),
    get_time(T2),
    Seconds is max(1.0e-6, (T1 - T0) - (T2 - T1)),
    LIPS is round(496 * Iterations / Seconds).

nrev_loop(Iterations, List) :-
    between(1, Iterations, _),
    nrev(List, _),
    fail.
nrev_loop(_, _).

empty_loop(Iterations, List) :-
    between(1, Iterations, _),
    empty_nrev(List, _),
    fail.
empty_loop(_, _).

empty_nrev(_, _).
