// wasm/core/boundary.js — the JavaScript half of the one guard (wasm/core/boundary.h), linked
// into both modules as their --post-js.
//
// boundary.h checks every argument in C++ and catches every C++ exception. What embind checks in
// JavaScript before C++ runs is caught here: the number of arguments (a call with too few or too
// many is given exactly the arity, missing ones undefined, which boundary.h then refuses by name),
// and a deleted or foreign handle as `this` or as a class argument. Each entry point of
// boundary::table() is wrapped once, when the module is ready: the answer is then the module's own
// value or the envelope {ok: false, problems: [{code, message}]} (as JSON text for an entry that
// answers text), never a throw.
addOnPostRun(function () {
  var table = JSON.parse(Module['boundaryTable']());
  Object.keys(table).forEach(function (key) {
    var dot = key.indexOf('.');
    var owner = dot < 0 ? Module : Module[key.slice(0, dot)].prototype;
    var name = dot < 0 ? key : key.slice(dot + 1);
    var inner = owner[name], arity = table[key]['arity'], text = table[key]['answer'] === 'text';
    owner[name] = function () {
      var args = [];
      for (var i = 0; i < arity; i++) args.push(arguments[i]);
      try {
        return inner.apply(this, args);
      } catch (e) {
        var message = 'the call could not be made: ' + (e && e.message ? e.message : String(e));
        var failure = { ok: false, problems: [{ code: 'bad_call', message: message }] };
        return text ? JSON.stringify(failure) : failure;
      }
    };
  });
});
