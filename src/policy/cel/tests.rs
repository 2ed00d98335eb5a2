//! Each library function and operator, bad expressions, and cases transcribed from the
//! cel-spec conformance suite (`tests/simple/testdata/*.textproto`, google/cel-spec,
//! Apache-2.0) for what the policies use.

use super::*;
use crate::source::SourceFile;
use crate::yaml::load_one;

/// Evaluates `src` with `object` (YAML) as `object`; the value as CEL prints it, or the
/// error message.
fn eval_with(src: &str, object: &str, variables: &[(&str, &str)]) -> Result<String, String> {
    let file = SourceFile::new("object.yaml", object);
    let node = load_one(&file).expect("object parses");
    let mut decls = Declarations::default();
    let mut programs = Vec::new();
    for (name, expr) in variables {
        programs.push(Program::compile(expr, &decls).map_err(|(m, _)| m)?);
        decls.variables.push(name.to_string());
    }
    let program =
        Program::compile(src, &decls).map_err(|(m, p)| format!("{}:{}: {m}", p.line, p.col))?;
    let activation = Activation {
        object: Value::of_node(&node),
        old_object: Value::Null,
        params: Value::Null,
        request: Value::Null,
        namespace_object: Value::Null,
    };
    let mut evaluation = Evaluation::new(&programs, &activation, Budget::default());
    evaluation
        .eval(&program)
        .map(|v| v.to_string())
        .map_err(|e| e.message)
}

fn eval(src: &str) -> Result<String, String> {
    eval_with(src, "{}", &[])
}

#[track_caller]
fn check(src: &str, want: &str) {
    assert_eq!(eval(src), Ok(want.to_string()), "{src}");
}

#[track_caller]
fn fails(src: &str, message: &str) {
    match eval(src) {
        Err(e) => assert!(e.contains(message), "{src}: {e:?} lacks {message:?}"),
        Ok(v) => panic!("{src}: {v}, expected an error containing {message:?}"),
    }
}

#[test]
fn literals_and_arithmetic() {
    check("1 + 2 * 3", "7");
    check("7 / 2", "3");
    check("-7 % 3", "-1");
    check("2u + 3u", "5u");
    check("1.5 + 1.0", "2.5");
    check("'ab' + 'cd'", "\"abcd\"");
    check("[1] + [2, 3]", "[1, 2, 3]");
    check("b'a' + b'b'", "b\"ab\"");
    check("-(-3)", "3");
    fails("9223372036854775807 + 1", "integer overflow");
    fails("1 / 0", "division by zero");
    fails("1 % 0", "modulus by zero");
    fails("0u - 1u", "integer overflow");
    fails("-(-9223372036854775807 - 1)", "integer overflow");
}

#[test]
fn equality_is_heterogeneous() {
    // conformance comparisons.textproto: eq_mixed_types, eq_int_uint, eq_int_double
    check("1 == 1u", "true");
    check("1 == 1.0", "true");
    check("{'a': 1} == ''", "false");
    check("dyn(1) == 'a'", "false");
    check("[1, 2] == [1, 2]", "true");
    check("{'a': 1, 'b': 2} == {'b': 2, 'a': 1}", "true");
    check("null == null", "true");
    check("2 > 1u", "true");
    check("-1 < 1u", "true");
    check("'a' < 'b'", "true");
    check("false < true", "true");
    fails("dyn('a') < 1", "no matching overload");
}

#[test]
fn logic_absorbs_errors_as_cel_defines() {
    // conformance logic.textproto: or_false_error, and_true_error, and_error_false ...
    check("true || (1 / 0 == 1)", "true");
    check("(1 / 0 == 1) || true", "true");
    check("false && (1 / 0 == 1)", "false");
    check("(1 / 0 == 1) && false", "false");
    fails("(1 / 0 == 1) || false", "division by zero");
    check("true ? 1 : 1 / 0", "1");
    check("!false", "true");
}

#[test]
fn macros() {
    // conformance macros.textproto
    check("[1, 2, 3].all(x, x > 0)", "true");
    check("[1, 2, 3].all(x, x > 1)", "false");
    check("[1, 2, 3].exists(x, x == 2)", "true");
    check("[].exists(x, x == 2)", "false");
    check("[1, 2, 3].exists_one(x, x > 2)", "true");
    check("[1, 2, 3].exists_one(x, x > 1)", "false");
    check("[1, 2, 3].map(x, x * 2)", "[2, 4, 6]");
    check("[1, 2, 3].map(x, x > 1, x * 10)", "[20, 30]");
    check("[1, 2, 3].filter(x, x != 2)", "[1, 3]");
    check("{'a': 1, 'b': 2}.all(k, k != 'c')", "true");
    check("{'a': 1}.map(k, k + '!')", "[\"a!\"]");
    // all_error/exists_error: an error is absorbed only when another element decides
    check("[0, 1].all(x, 1 / x > 5)", "false");
    fails("[0, 1].all(x, 1 / x > 0)", "division by zero");
    check("[0, 1].exists(x, 1 / x == 1)", "true");
    fails("[1, 0].exists_one(x, 1 / x == 1)", "division by zero");
    check("[[1], [2, 3]].all(l, l.all(x, x > 0))", "true");
    check("cel.bind(x, 2, x * x)", "4");
}

#[test]
fn has_and_field_selection() {
    let pod = "spec:\n  containers:\n  - name: a\n    securityContext: {privileged: true}\n  - name: b\n  hostNetwork: null\n";
    let e = |src: &str| eval_with(src, pod, &[]);
    assert_eq!(e("has(object.spec.containers)"), Ok("true".into()));
    assert_eq!(e("has(object.spec.initContainers)"), Ok("false".into()));
    // An explicit null is absent, as the API server drops it.
    assert_eq!(e("has(object.spec.hostNetwork)"), Ok("false".into()));
    assert_eq!(
        e(
            "object.spec.containers.all(c, !has(c.securityContext) || !c.securityContext.privileged)"
        ),
        Ok("false".into())
    );
    assert_eq!(
        e("object.spec.initContainers"),
        Err("no such key: initContainers".into())
    );
    assert_eq!(e("object.spec.containers[1].name"), Ok("\"b\"".into()));
    assert!(
        e("object.spec.containers[2]")
            .unwrap_err()
            .contains("index out of bounds")
    );
    assert!(
        e("object.spec.containers[0].name.foo")
            .unwrap_err()
            .contains("does not support field selection")
    );
    assert_eq!(e("'a' in {'a': 1}"), Ok("true".into()));
    assert_eq!(e("'a' in ['b', 'a']"), Ok("true".into()));
}

#[test]
fn optionals() {
    // conformance optionals.textproto
    check("optional.of(null).hasValue()", "true");
    check("optional.ofNonZeroValue(null).hasValue()", "false");
    check("optional.none().or(optional.none()).orValue(42)", "42");
    check("optional.none().optMap(y, y + 1).hasValue()", "false");
    check("{}.?key.optFlatMap(k, k.?subkey).hasValue()", "false");
    check(
        "{'key': {'subkey': 'subvalue'}}.?key.optFlatMap(k, k.?subkey).value()",
        "\"subvalue\"",
    );
    check("optional.of(42).optMap(y, y + 1).value()", "43");
    check("{'null_key': dyn(null)}.?null_key.hasValue()", "true");
    check("{true: dyn(0)}[?false].absent.hasValue()", "false");
    fails(
        "{true: dyn(0)}[?true].absent.hasValue()",
        "does not support field selection",
    );
    check("{}.?null_key.invalid.hasValue()", "false");
    check("has({}.?x.y)", "false");
    check("has({'x': {'y': 'z'}}.?x.y)", "true");
    check("type(optional.none()) == optional_type", "true");
    check(
        "{'c': {'dashed-index': 'goodbye'}}.c[?'dashed-index'].orValue('default value')",
        "\"goodbye\"",
    );
    check(
        "{'c': {}}.c[?'missing-index'].orValue('default value')",
        "\"default value\"",
    );
    check(
        "optional.of({'c': {'index': 'goodbye'}}).c.index.orValue('default value')",
        "\"goodbye\"",
    );
    check(
        "optional.of({'c': {}}).c.missing.or(optional.none()[0]).orValue('default value')",
        "\"default value\"",
    );
    check(
        "optional.of({'c': {}}).c.missing.or(optional.of(['list-value'])[0]).orValue('default value')",
        "\"list-value\"",
    );
    check(
        "optional.of({'c': {}}).c['missing'].orValue('default value')",
        "\"default value\"",
    );
    check(
        "has(optional.of({'c': {'entry': 'hello world'}}).c) && !has(optional.of({'c': {'entry': 'hello world'}}).c.missing)",
        "true",
    );
    check("[?{}.?c, ?optional.of(42), ?optional.none()]", "[42]");
    check("{?'a': optional.none(), 'b': 1}", "{\"b\": 1}");
    check("[][?0].hasValue()", "false");
    check("['foo'][?0].value()", "\"foo\"");
    check("optional.none() == optional.none()", "true");
    check("optional.of(1) != optional.none()", "true");
    fails("optional.none().value()", "optional.none() dereference");
    let pod = "spec:\n  containers:\n  - name: a\n    ports: [{hostPort: 80}]\n";
    assert_eq!(
        eval_with(
            "object.spec.containers.all(c, c.?ports.orValue([]).all(p, p.?hostPort.orValue(0) < 100))",
            pod,
            &[]
        ),
        Ok("true".into())
    );
    assert_eq!(
        eval_with("object.spec.?initContainers.orValue([]).size()", pod, &[]),
        Ok("0".into())
    );
}

#[test]
fn conversions_and_types() {
    check("int('42')", "42");
    check("int(3.9)", "3");
    check("uint(3)", "3u");
    check("double(2)", "2");
    check("string(42)", "\"42\"");
    check("string(true)", "\"true\"");
    check("bool('true')", "true");
    check("bytes('a')", "b\"a\"");
    check("type(1) == int", "true");
    check("type('a') == string", "true");
    check("dyn([1]).size()", "1");
    check("size('héllo')", "5");
    check("size({'a': 1})", "1");
    fails("int('x')", "cannot convert");
    fails("uint(-1)", "overflow");
    fails("int(1e300)", "overflow");
}

#[test]
fn strings_library() {
    check("'hello'.contains('ell')", "true");
    check("'hello'.startsWith('he')", "true");
    check("'hello'.endsWith('lo')", "true");
    check("'hello'.charAt(1)", "\"e\"");
    check("'hello'.charAt(5)", "\"\"");
    fails("'hello'.charAt(6)", "index out of range");
    check("'hello'.indexOf('l')", "2");
    check("'hello'.indexOf('l', 3)", "3");
    check("'hello'.indexOf('')", "0");
    check("'hello'.indexOf('z')", "-1");
    check("'hello'.lastIndexOf('l')", "3");
    check("'hello'.lastIndexOf('l', 2)", "2");
    check("'HeLLo'.lowerAscii()", "\"hello\"");
    check("'hello'.upperAscii()", "\"HELLO\"");
    check("'a-b-c'.replace('-', '+')", "\"a+b+c\"");
    check("'a-b-c'.replace('-', '+', 1)", "\"a+b-c\"");
    check("'a,b,c'.split(',')", "[\"a\", \"b\", \"c\"]");
    check("'a,b,c'.split(',', 2)", "[\"a\", \"b,c\"]");
    check("'abc'.split('')", "[\"a\", \"b\", \"c\"]");
    check("'hello'.substring(1)", "\"ello\"");
    check("'hello'.substring(1, 3)", "\"el\"");
    fails("'hello'.substring(3, 1)", "index out of range");
    check("'  hi  '.trim()", "\"hi\"");
    check("['a', 'b'].join()", "\"ab\"");
    check("['a', 'b'].join('-')", "\"a-b\"");
    check("strings.quote('a\"b')", "\"\\\"a\\\\\\\"b\\\"\"");
}

#[test]
fn regex_library() {
    check("'abc123'.matches('^[a-z]+[0-9]+$')", "true");
    check("matches('abc', 'b')", "true");
    check("'abc 123 def 456'.find('[0-9]+')", "\"123\"");
    check("'abc'.find('[0-9]+')", "\"\"");
    check("'a1b2c3'.findAll('[0-9]')", "[\"1\", \"2\", \"3\"]");
    check("'a1b2c3'.findAll('[0-9]', 2)", "[\"1\", \"2\"]");
    fails("'abc'.matches(dyn('['))", "invalid regular expression");
}

#[test]
fn lists_and_sets_libraries() {
    check("[1, 2, 3].isSorted()", "true");
    check("[3, 1].isSorted()", "false");
    check("[1, 2, 3].sum()", "6");
    check("[1.5, 2.5].sum()", "4");
    check("[].sum()", "0");
    check("[3, 1, 2].min()", "1");
    check("[3, 1, 2].max()", "3");
    fails("[].min()", "empty list");
    check("[1, 2, 1].indexOf(1)", "0");
    check("[1, 2, 1].lastIndexOf(1)", "2");
    check("sets.contains([1, 2, 3], [3, 1])", "true");
    check("sets.contains([1, 2], [4])", "false");
    check("sets.equivalent([1, 2], [2, 1, 1])", "true");
    check("sets.intersects([1, 2], [2, 5])", "true");
    check("sets.intersects([1], [5])", "false");
}

#[test]
fn quantity_library() {
    check("quantity('1Gi').isGreaterThan(quantity('1G'))", "true");
    check("quantity('500m').isLessThan(quantity('1'))", "true");
    check("quantity('1k').compareTo(quantity('1000'))", "0");
    check("quantity('1Ki').asInteger()", "1024");
    check("quantity('1.5').isInteger()", "false");
    check("quantity('1.5').asApproximateFloat()", "1.5");
    check("quantity('-2').sign()", "-1");
    check(
        "quantity('1').add(quantity('500m')).isGreaterThan(quantity('1'))",
        "true",
    );
    check("quantity('1').sub(2).sign()", "-1");
    check("quantity('2e3').asInteger()", "2000");
    check("quantity('1G') == quantity('1000M')", "true");
    check("isQuantity('1Mi')", "true");
    check("isQuantity('1MB')", "false");
    fails("quantity('x')", "quantities must match");
    fails(
        "quantity('1.5').asInteger()",
        "cannot convert value to integer",
    );
}

#[test]
fn url_library() {
    check(
        "url('https://example.com:8080/a/b?x=1&x=2&y=z').getScheme()",
        "\"https\"",
    );
    check(
        "url('https://example.com:8080/a/b').getHost()",
        "\"example.com:8080\"",
    );
    check(
        "url('https://example.com:8080/a/b').getHostname()",
        "\"example.com\"",
    );
    check("url('https://example.com:8080/a/b').getPort()", "\"8080\"");
    check("url('https://[::1]:80/').getHostname()", "\"::1\"");
    check(
        "url('https://example.com/a%20b').getEscapedPath()",
        "\"/a%20b\"",
    );
    check(
        "url('https://e.com/?x=1&x=2&y=a+b').getQuery()",
        "{\"x\": [\"1\", \"2\"], \"y\": [\"a b\"]}",
    );
    check(
        "url('/absolute/path').getEscapedPath()",
        "\"/absolute/path\"",
    );
    check("isURL('https://example.com')", "true");
    check("isURL('not a url')", "false");
    check("isURL('relative/path')", "false");
    fails("url('')", "URL parse error");
}

#[test]
fn ip_and_cidr_libraries() {
    check("isIP('10.0.0.1')", "true");
    check("isIP('::ffff:10.0.0.1')", "false");
    check("isIP('fe80::1%eth0')", "false");
    check("ip('10.0.0.1').family()", "4");
    check("ip('::1').family()", "6");
    check("ip('::1').isLoopback()", "true");
    check("ip('0.0.0.0').isUnspecified()", "true");
    check("ip('224.0.0.1').isLinkLocalMulticast()", "true");
    check("ip('ff02::1').isLinkLocalMulticast()", "true");
    check("ip('169.254.1.1').isLinkLocalUnicast()", "true");
    check("ip('fe80::1').isLinkLocalUnicast()", "true");
    check("ip('10.0.0.1').isGlobalUnicast()", "true");
    check("ip('255.255.255.255').isGlobalUnicast()", "false");
    check("ip.isCanonical('2001:db8::1')", "true");
    check("ip.isCanonical('2001:DB8::1')", "false");
    check("string(ip('10.0.0.1'))", "\"10.0.0.1\"");
    check("cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))", "true");
    check("cidr('10.0.0.0/8').containsIP('11.0.0.1')", "false");
    check("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')", "true");
    check(
        "cidr('10.1.0.0/16').containsCIDR(cidr('10.0.0.0/8'))",
        "false",
    );
    check("cidr('10.1.2.3/8').ip() == ip('10.1.2.3')", "true");
    check("string(cidr('10.1.2.3/8').masked())", "\"10.0.0.0/8\"");
    check("cidr('2001:db8::/32').prefixLength()", "32");
    check("isCIDR('10.0.0.0/33')", "false");
    fails("ip('300.0.0.1')", "parse error");
}

#[test]
fn variables_are_lazy_and_ordered() {
    let pod = "spec:\n  containers: [{name: a}]\n  initContainers: [{name: b}]\n";
    let vars = [
        (
            "all",
            "object.spec.containers + object.spec.?initContainers.orValue([])",
        ),
        ("names", "variables.all.map(c, c.name)"),
    ];
    assert_eq!(
        eval_with("variables.names", pod, &vars),
        Ok("[\"a\", \"b\"]".into())
    );
    // A variable that fails only fails the expressions that use it.
    let failing = [("broken", "1 / 0")];
    assert_eq!(eval_with("true", pod, &failing), Ok("true".into()));
    assert!(eval_with("variables.broken == 1", pod, &failing).is_err());
    // Only the variables declared before may be named.
    let err = eval_with("variables.later", pod, &vars).unwrap_err();
    assert!(
        err.contains("undeclared reference to 'variables.later'"),
        "{err}"
    );
}

#[test]
fn syntax_errors_name_line_and_column() {
    let err = Program::compile(
        "object.spec.containers.all(c,\n  c.name ==)",
        &Declarations::default(),
    )
    .unwrap_err();
    assert!(err.0.starts_with("syntax error"), "{err:?}");
    assert_eq!(err.1, Position { line: 2, col: 12 });
    let err = Program::compile("1 +* 2", &Declarations::default()).unwrap_err();
    assert_eq!(err.1.line, 1);
    assert!(err.1.col >= 3, "{err:?}");
}

#[test]
fn checks_find_unknown_names_and_type_errors() {
    let compile = |src: &str| Program::compile(src, &Declarations::default()).unwrap_err();
    let (message, position) = compile("object.spec.x == undefinedThing");
    assert_eq!(message, "undeclared reference to 'undefinedThing'");
    assert_eq!(position, Position { line: 1, col: 18 });
    let (message, _) = compile("object.foo.bar(1)");
    assert_eq!(message, "undeclared reference to 'bar'");
    let (message, position) = compile("size(object.spec) + 'a'");
    assert_eq!(
        message,
        "found no matching overload for '_+_' applied to '(int, string)'"
    );
    assert_eq!(position, Position { line: 1, col: 19 });
    let (message, _) = compile("1 && true");
    assert!(
        message.contains("'_&&_' applied to '(int, bool)'"),
        "{message}"
    );
    let (message, _) = compile("'abc'.sum()");
    assert!(
        message.contains("'sum' applied to 'string.()'"),
        "{message}"
    );
    let (message, _) = compile("'a'.matches('[')");
    assert!(message.contains("invalid regular expression"), "{message}");
    let (message, _) = compile("authorizer.group('apps')");
    assert!(message.starts_with("unsupported"), "{message}");
    let (message, _) = compile("timestamp('2024-01-01T00:00:00Z')");
    assert!(message.starts_with("unsupported"), "{message}");
    // A type error kcc cannot see before (no schema types) is found when evaluated.
    assert!(
        eval_with("object.a + 1", "a: x", &[])
            .unwrap_err()
            .contains("no matching overload for '_+_' applied to '(string, int)'")
    );
}

#[test]
fn runaway_expressions_stop_at_the_budget() {
    let started = std::time::Instant::now();
    let err = eval(
        "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, \
         [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, \
         [1,2,3,4,5,6,7,8,9,10].all(g, a + b + c + d + e + f + g > 0)))))))",
    )
    .unwrap_err();
    assert!(err.contains("cost limit exceeded"), "{err}");
    // A string that would grow beyond the budget is refused before it is built.
    let s = "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'";
    let bomb = format!("{s}.replace('', {s}).replace('', {s}.replace('', {s})).size()");
    assert!(eval(&bomb).unwrap_err().contains("cost limit exceeded"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn errors_are_placed_in_their_expression() {
    let program =
        Program::compile("true &&\n  [1].all(x, x / 0 > 1)", &Declarations::default()).unwrap();
    let node = crate::yaml::Node::null();
    let activation = Activation {
        object: Value::of_node(&node),
        old_object: Value::Null,
        params: Value::Null,
        request: Value::Null,
        namespace_object: Value::Null,
    };
    let err = Evaluation::new(&[], &activation, Budget::default())
        .eval(&program)
        .unwrap_err();
    assert_eq!(err.message, "division by zero");
    assert_eq!(err.position, Position { line: 2, col: 16 });
}

#[test]
fn positions_count_characters() {
    let (_, position) = Program::compile("'é' + x", &Declarations::default()).unwrap_err();
    assert_eq!(position, Position { line: 1, col: 7 });
}
