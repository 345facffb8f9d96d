/*  A program a node peer loads with --consult in the tests: listen/2 handlers in the node
    peer's own engine, one answering requests, one publishing to the network.
*/
:- use_module(library(broadcast)).

:- listen(number(X), between(6, 7, X)).
:- listen(temperature(Room, Degrees), broadcast(p2p(echo(temperature(Room, Degrees))))).
