:- module(p2p_engine,
          [ run_goal/3,                 % +Goal, +Options, -Status
            run_text/4,                 % +Text, +Options, -Answer, -Status
            consult_text/4,             % +Text, +Source, +Options, -Status
            answer_text/2,              % +Bindings, -Text
            error_info/3,               % +Error, -Portable, -Text
            message_text/2              % +Message, -Text
          ]).
:- autoload(library(apply), [exclude/3, foldl/4, maplist/2, maplist/3]).
:- autoload(library(error), [must_be/2, permission_error/3]).
:- autoload(library(lists), [last/2, member/2]).
:- autoload(library(modules), [in_temporary_module/3]).
:- autoload(library(occurs), [sub_term/2]).
:- autoload(library(option), [option/2, option/3]).
:- autoload(library(sandbox), [safe_goal/1]).

/** <module> Running goals for the P2P Prolog engine

The JavaScript runtime (core/engine/runtime.ts) opens every query on one
of these predicates, in an engine of its own, as a yieldable query. Each
sets the `heartbeat` flag of its engine, so that the runtime regains
control every few thousand inferences to switch queries or stop one.

Status tells the runtime what happened, where the goal cannot forge it:

  - `true`: an answer.
  - `inference_limit_exceeded`: an answer needed more inferences than
    the limit; the runtime closes the query.
  - refused(Error): library(sandbox) refused the goal; it did not run.

==
?- run_goal(member(X, [a,b]), [sandbox(true), inference_limit(1000)], S).
X = a, S = true ;
X = b, S = true.

?- run_goal(shell(ls), [sandbox(true)], S).
S = refused(error(permission_error(call, sandboxed, shell(_,_)), _)).

?- run_goal(user:assertz(p), [sandbox(true)], S).
S = refused(error(permission_error(call, sandboxed, user:assertz(p)), _)).
==
*/

:- multifile
    sandbox:safe_primitive/1.

% In the WASM build sleep/1 is library(wasm)'s, which awaits a timer
% (library(sandbox) knows only the system one). The time limits bound
% it as they bound any goal, and other goals run while it waits.
sandbox:safe_primitive(wasm:sleep(_)).

%!  run_goal(+Goal, +Options, -Status) is nondet.
%
%   Runs Goal. With sandbox(true), Goal must pass safe_goal/1, may not
%   qualify a call of a module-sensitive (transparent) predicate with
%   another module, nor a call of a predicate that a module other than
%   `user` and `system` does not export, and runs in a temporary module
%   (whose default import module is `user`), so that the facts it may
%   assert vanish with the query instead of shadowing `user` for the
%   goals that come after it.
%   Options:
%
%     - sandbox(+Bool): default `false`.
%     - inference_limit(+Limit): per answer, or `infinite` (default).
%     - heartbeat(+Inferences): default 10,000.
%     - from_network(+Bool): the goal came from the network (a query of
%       network/1); it may not ask the network in turn. Default `false`.
%
%   @arg Status is `true`, `inference_limit_exceeded` or refused(Error).

run_goal(Goal, Options, Status) :-
    must_be(list, Options),
    option(heartbeat(Rate), Options, 10_000),
    set_prolog_flag(heartbeat, Rate),
    option(from_network(FromNetwork), Options, false),
    b_setval('$p2p_from_network', FromNetwork),
    option(inference_limit(Limit), Options, infinite),
    (   option(sandbox(true), Options)
    ->  in_temporary_module(Module, true, checked(Module:Goal, Limit, Status))
    ;   limited(user:Goal, Limit, Status)
    ).

checked(Goal, Limit, Status) :-
    catch(safe_in_own_module(Goal), Error, true),
    (   var(Error)
    ->  limited(Goal, Limit, Status)
    ;   Status = refused(Error)
    ).

% safe_goal/1 lets user:assertz(p) and user:(assertz(p), true) through,
% which assert into `user`. So a sandboxed goal may qualify only calls
% of predicates that do not act on the module they are called in.
% safe_goal/1 also checks a qualified goal as if it ran in the module it
% names, where assertz/1 of that module's own facts counts as safe:
% broadcast:assert_listener(T, L, user, G) would add a listener that
% runs G, unchecked, at the next broadcast. So a qualified call may
% reach only what a module exports (or `user` and `system`).
safe_in_own_module(Module:Goal) :-
    safe_goal(Module:Goal),
    (   foreign_qualified(Module, Goal, Call)
    ->  permission_error(call, sandboxed, Call)
    ;   true
    ).

foreign_qualified(Module, Goal, Qualifier:Called) :-
    sub_term(Sub, Goal),
    compound(Sub),
    Sub = Qualifier:Called,
    atom(Qualifier),
    Qualifier \== Module,
    callable(Called),
    (   predicate_property(Qualifier:Called, transparent)
    ->  true
    ;   internal(Qualifier, Called)
    ),
    !.

internal(Module, Goal) :-
    \+ memberchk(Module, [user, system]),
    current_module(Module),
    predicate_property(Module:Goal, defined),
    \+ predicate_property(Module:Goal, imported_from(_)),
    \+ predicate_property(Module:Goal, exported).

limited(Goal, infinite, Status) :-
    !,
    call(Goal),
    Status = true.
limited(Goal, Limit, Status) :-
    call_with_inference_limit(Goal, Limit, Result),
    (   Result == inference_limit_exceeded
    ->  Status = Result
    ;   Status = true
    ).

%!  run_text(+Text, +Options, -Answer, -Status) is nondet.
%
%   Reads Text as a query, as the toplevel does, and runs it with
%   run_goal/3.
%
%   @arg Answer is answer(Goal, Bindings, AnswerText): the instantiated
%   goal, `Name = Value` for the named variables not starting with `_`,
%   and the bindings as the toplevel prints them (see answer_text/2).
%   @error syntax_error(_) if Text is not a term.

run_text(Text, Options, answer(Goal, Bindings, AnswerText), Status) :-
    must_be(string, Text),
    term_string(Goal, Text, [variable_names(Names)]),
    run_goal(Goal, Options, Status),
    exclude(hidden_binding, Names, Bindings),
    (   Status == true
    ->  answer_text(Names, AnswerText)
    ;   AnswerText = ""
    ).

hidden_binding(Name = _) :-
    sub_atom(Name, 0, _, _, '_').

%!  answer_text(+Bindings, -Text) is det.
%
%   Text shows Bindings (`Name = Value`, from variable_names/1) the way
%   the SWI-Prolog toplevel prints an answer, without the final `.` or
%   ` ;`: names bound to the same value are chained (`X = Y, Y = 1`),
%   free variables are named after the query or as `_A`, `_B` when
%   shared and `_` when not, residual goals (dif/2, freeze/2, ...) come
%   last, values are written with the flag `answer_write_options`, and
%   an answer without bindings is `true`.

answer_text(Bindings, Text) :-
    copy_term(Bindings, Copy, Residuals0),
    maplist(unqualified_goal, Residuals0, Residuals),
    exclude(hidden_binding, Copy, Visible),
    same_value_groups(Visible, Groups),
    maplist(name_free_group, Groups),
    maplist(name_query_variable, Copy),
    foldl(group_line, Groups, Lines, Residuals),
    name_anonymous_variables(Lines, Copy),
    lines_text(Lines, Text).

% Residual goals show no qualifier of the query's module, in the goal
% and its meta-arguments: freeze(X, true), not freeze(X, user:true).
unqualified_goal(Goal0, Goal) :-
    unqualified(Goal0, Goal1),
    (   compound(Goal1),
        predicate_property(user:Goal1, meta_predicate(Spec))
    ->  compound_name_arguments(Goal1, Name, Args0),
        compound_name_arguments(Spec, _, Specs),
        maplist(unqualified_argument, Specs, Args0, Args),
        compound_name_arguments(Goal, Name, Args)
    ;   Goal = Goal1
    ).

unqualified_argument(Spec, Arg0, Arg) :-
    (   ( integer(Spec) ; Spec == (:) ; Spec == (^) )
    ->  unqualified(Arg0, Arg)
    ;   Arg = Arg0
    ).

unqualified(Module:Goal, Unqualified) :-
    atom(Module),
    (   Module == user
    ;   module_property(Module, class(temporary))
    ),
    !,
    Unqualified = Goal.
unqualified(Goal, Goal).

% group(Names, Value, Free): Names are bound to the same Value; Free
% tells whether Value was a free variable.
same_value_groups([], []).
same_value_groups([Name = Value|Bindings], [group([Name|Names], Value, Free)|Groups]) :-
    (   var(Value)
    ->  Free = true
    ;   Free = false
    ),
    same_value_names(Bindings, Value, Names, Rest),
    same_value_groups(Rest, Groups).

same_value_names([], _, [], []).
same_value_names([Name = V|Bindings], Value, Names, Rest) :-
    (   V == Value
    ->  Names = [Name|Names1],
        same_value_names(Bindings, Value, Names1, Rest)
    ;   Rest = [Name = V|Rest1],
        same_value_names(Bindings, Value, Names, Rest1)
    ).

% A free variable shown under several names is written as the last one.
name_free_group(group(Names, Value, Free)) :-
    (   Free == true
    ->  last(Names, Name),
        Value = '$VAR'(Name)
    ;   true
    ).

name_query_variable(Name = Value) :-
    (   var(Value)
    ->  Value = '$VAR'(Name)
    ;   true
    ).

% A free variable with one name says nothing: the toplevel omits it.
group_line(group(Names, Value, Free), [Line|Lines], Lines) :-
    \+ ( Free == true, Names = [_] ),
    !,
    (   Free == true
    ->  Line = same(Names)
    ;   Line = binding(Names, Value)
    ).
group_line(_, Lines, Lines).

name_anonymous_variables(Lines, Bindings) :-
    term_singletons(Lines, Singletons),
    maplist(=('$VAR'('_')), Singletons),
    term_variables(Lines, Shared),
    foldl(name_shared_variable(Bindings), Shared, 0, _).

name_shared_variable(Bindings, '$VAR'(Name), I0, I) :-
    fresh_name(Bindings, I0, Name, I).

fresh_name(Bindings, I0, Name, I) :-
    Letter is 0'A + I0 mod 26,
    Round is I0 // 26,
    (   Round =:= 0
    ->  format(atom(Name0), '_~c', [Letter])
    ;   format(atom(Name0), '_~c~d', [Letter, Round])
    ),
    I1 is I0 + 1,
    (   memberchk(Name0 = _, Bindings)
    ->  fresh_name(Bindings, I1, Name, I)
    ;   Name = Name0,
        I = I1
    ).

lines_text([], "true") :-
    !.
lines_text(Lines, Text) :-
    current_prolog_flag(answer_write_options, Options0),
    Options = [numbervars(true)|Options0],
    with_output_to(string(Text), write_lines(Lines, Options)).

write_lines([Line|Lines], Options) :-
    write_line(Line, Options),
    forall(member(L, Lines), (format(',~n'), write_line(L, Options))).

write_line(same(Names), _Options) :-
    !,
    write_chain(Names).
write_line(binding(Names, Value), Options) :-
    !,
    (   Names = [_, _|_]
    ->  write_chain(Names),
        format(', ')
    ;   true
    ),
    last(Names, Name),
    format('~w = ', [Name]),
    write_term(Value, [priority(699)|Options]).
write_line(Goal, Options) :-
    write_term(Goal, [priority(999)|Options]).

% X = Y, Y = Z: every name but the last equals the next one.
write_chain([_]) :-
    !.
write_chain([Name, Next|Names]) :-
    format('~w = ~w', [Name, Next]),
    (   Names == []
    ->  true
    ;   format(', '),
        write_chain([Next|Names])
    ).

%!  consult_text(+Text, +Source, +Options, -Status) is det.
%
%   Loads the program Text into module `user` as if it was the file
%   Source; loading Source again replaces what it defined. Errors that
%   SWI-Prolog prints while loading (syntax errors, directives that
%   raise) are collected instead of printed; warnings print as usual.
%   Options are those of run_goal/3; sandbox(true) loads with
%   load_files/2's sandboxed(true): directives must be safe and clauses
%   may not define predicates of other modules.
%
%   @arg Status is `true`, `inference_limit_exceeded` or errors(List),
%   List holding error(Message, Text) for every error.

consult_text(Text, Source, Options, Status) :-
    must_be(string, Text),
    must_be(atom, Source),
    option(sandbox(Sandbox), Options, false),
    Load = setup_call_cleanup(
               open_string(Text, In),
               load_files(user:Source, [stream(In), sandboxed(Sandbox)]),
               close(In)),
    collect_errors(run_goal(Load, [sandbox(false)|Options], Status0), Errors),
    (   Errors == []
    ->  Status = Status0
    ;   Status = errors(Errors)
    ).

:- thread_local
    collecting/0,
    collected/2.

collect_errors(Goal, Errors) :-
    setup_call_cleanup(
        asserta(collecting),
        once(Goal),
        retractall(collecting)),
    findall(error(Message, Text), retract(collected(Message, Text)), Errors).

:- multifile
    user:message_hook/3.

user:message_hook(Message, error, _Lines) :-
    collecting,
    error_info(Message, Portable, Text),
    assertz(collected(Portable, Text)).

%!  message_text(+Message, -Text) is det.
%
%   Text is what print_message/2 prints for Message, without the kind's
%   prefix (`ERROR: `) and final newline.

message_text(Message, Text) :-
    '$messages':translate_message(Message, Lines, []),
    with_output_to(string(Text0), print_message_lines(current_output, '', Lines)),
    split_string(Text0, "", "\n", [Text]).

%!  error_info(+Error, -Portable, -Text) is det.
%
%   Portable is Error cut to depth 50 (deeper sub-terms become `...`),
%   with blobs (streams, clause references, ...) replaced by their
%   printed text, so that it converts to JavaScript; Text is the
%   message of Portable. Cutting comes first because SWI-Prolog writes
%   terms recursively in C: printing an error that holds a term
%   thousands deep would overflow the WASM stack.

error_info(Error, Portable, Text) :-
    without_engine_context(Error, Error1),
    portable(Error1, 50, Portable),
    message_text(Portable, Text).

% A goal runs under call/1 in limited/3, so an error raised by the call
% itself (an unknown procedure) names limited/3 as its context, and would
% print as `p2p_engine:limited/3: Unknown procedure: foo/0`. The toplevel
% says `Unknown procedure: foo/0`: the user never called limited/3.
without_engine_context(error(Formal, context(Module:_, Message)), Error) :-
    Module == p2p_engine,
    !,
    Error = error(Formal, context(_, Message)).
without_engine_context(Error, Error).

portable(Term, _, Portable) :-
    var(Term),
    !,
    Portable = Term.
portable(Term, _, Portable) :-
    atomic(Term),
    !,
    (   blob(Term, Type),
        \+ memberchk(Type, [text, reserved_symbol])
    ->  format(string(Portable), '~q', [Term])
    ;   Portable = Term
    ).
portable(_, 0, Portable) :-
    !,
    Portable = '...'.
portable(Term, Depth, Portable) :-
    compound_name_arguments(Term, Name, Args),
    Depth1 is Depth - 1,
    portables(Args, Depth1, Portables),
    compound_name_arguments(Portable, Name, Portables).

portables([], _, []).
portables([Arg|Args], Depth, [Portable|Portables]) :-
    portable(Arg, Depth, Portable),
    portables(Args, Depth, Portables).
