/*  A program a node peer loads with --consult in the tests: listen/2 handlers in the node
    peer's own engine, one answering requests, one publishing to the network.
*/
:- use_module(library(broadcast)).

:- listen(number(X), between(6, 7, X)).
:- listen(temperature(Room, Degrees), broadcast(p2p(echo(temperature(Room, Degrees))))).

% network/2 from a handler: how many peers answer a goal every engine proves.
:- listen(count_peers,
          ( findall(x, network(current_prolog_flag(bounded, _), [timeout(1)]), Answers),
            length(Answers, Count),
            broadcast(p2p(echo(peers_counted(Count))))
          )).
% The first of many slow answers: once/1 cancels the query on every peer.
:- listen(first_tick,
          ( once(network((between(1, 1000, N), sleep(0.01)), [timeout(8)])),
            broadcast(p2p(echo(first_tick(N))))
          )).
