/*  The program node peers load with --consult in the knowledge tests: two shared predicates.
*/
:- shared(likes/2).
:- shared(fact/1).
