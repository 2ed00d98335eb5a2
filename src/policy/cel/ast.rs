//! kcc's form of a parsed CEL expression: the `cel` crate's AST (macros already
//! expanded) turned into a tree the evaluator walks without looking anything up by
//! name — operators, functions, variables and macro shapes are resolved here, once per
//! policy, and so are the errors a type checker would report: an unknown variable or
//! function, an operator applied to literal types it has no overload for.

use cel::common::ast::{EntryExpr, Expr as CelExpr, IdedExpr, LiteralValue, SourceInfo, operators};
use regex::Regex;

use super::functions::{self, Signature};
use super::{CompileError, Declarations};

/// One node, with the byte offset in the expression's text it was written at.
#[derive(Debug)]
pub struct Expr {
    pub offset: u32,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    /// `object`, `oldObject`, `params`, `request`, `namespaceObject`.
    Root(Root),
    /// A comprehension's or `cel.bind`'s variable.
    Local(String),
    /// `variables.<name>`: the policy's n-th variable.
    Variable(usize),
    /// A type name used as a value: `int`, `string`, ...
    TypeName(&'static str),
    /// `a.f`, or `has(a.f)` when `test`.
    Select {
        operand: Box<Expr>,
        field: String,
        test: bool,
    },
    /// `a.?f`
    OptSelect {
        operand: Box<Expr>,
        field: String,
    },
    /// `a[i]`, or `a[?i]` when `optional`.
    Index {
        operand: Box<Expr>,
        index: Box<Expr>,
        optional: bool,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A library function; `target` for the receiver style `x.f(...)`.
    Call {
        name: &'static str,
        target: Option<Box<Expr>>,
        args: Vec<Expr>,
        /// A constant regular expression argument, compiled once.
        regex: Option<Regex>,
    },
    List {
        items: Vec<Expr>,
        /// Indexes of `?x` items: added only when the optional holds a value.
        optional: Vec<usize>,
    },
    Map {
        entries: Vec<(Expr, Expr, bool)>,
    },
    /// `all`, `exists`, `exists_one`.
    Quantifier {
        quantifier: Quantifier,
        range: Box<Expr>,
        var: String,
        predicate: Box<Expr>,
    },
    /// `map(v, f)`, `map(v, p, f)` and `filter(v, p)`.
    Collect {
        range: Box<Expr>,
        var: String,
        filter: Option<Box<Expr>>,
        transform: Option<Box<Expr>>,
    },
    /// `o.optMap(v, f)` (or `optFlatMap` when `flat`).
    OptMap {
        target: Box<Expr>,
        var: String,
        body: Box<Expr>,
        flat: bool,
    },
    /// `cel.bind(v, init, body)`.
    Bind {
        var: String,
        init: Box<Expr>,
        body: Box<Expr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    Object,
    OldObject,
    Params,
    Request,
    NamespaceObject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    All,
    Exists,
    ExistsOne,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "_+_",
            BinOp::Sub => "_-_",
            BinOp::Mul => "_*_",
            BinOp::Div => "_/_",
            BinOp::Rem => "_%_",
            BinOp::Eq => "_==_",
            BinOp::Ne => "_!=_",
            BinOp::Lt => "_<_",
            BinOp::Le => "_<=_",
            BinOp::Gt => "_>_",
            BinOp::Ge => "_>=_",
            BinOp::In => "@in",
        }
    }
}

/// What the checker knows of an expression's type: `Dyn` for anything read from the
/// object (kcc has no schema types), a concrete type for literals and function results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Dyn,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    List,
    Map,
    Type,
    Optional,
    Quantity,
    Url,
    Ip,
    Cidr,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Dyn => "dyn",
            Ty::Null => "null_type",
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Uint => "uint",
            Ty::Double => "double",
            Ty::String => "string",
            Ty::Bytes => "bytes",
            Ty::List => "list",
            Ty::Map => "map",
            Ty::Type => "type",
            Ty::Optional => "optional_type",
            Ty::Quantity => "kubernetes.Quantity",
            Ty::Url => "kubernetes.URL",
            Ty::Ip => "net.IP",
            Ty::Cidr => "net.CIDR",
        }
    }

    fn is_number(self) -> bool {
        matches!(self, Ty::Int | Ty::Uint | Ty::Double)
    }
}

const TYPE_NAMES: &[&str] = &[
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "optional_type",
];

/// Converts a parsed expression, checking it against `decls`.
pub fn convert(
    expr: &IdedExpr,
    info: &SourceInfo,
    decls: &Declarations,
) -> Result<Expr, CompileError> {
    let mut converter = Converter {
        info,
        decls,
        scope: Vec::new(),
    };
    converter.expr(expr).map(|(e, _)| e)
}

struct Converter<'d> {
    info: &'d SourceInfo,
    decls: &'d Declarations,
    scope: Vec<String>,
}

type Converted = Result<(Expr, Ty), CompileError>;

impl Converter<'_> {
    fn offset(&self, id: u64) -> u32 {
        self.info.offset_for(id).map_or(0, |(start, _)| start)
    }

    fn error(&self, id: u64, message: impl Into<String>) -> CompileError {
        CompileError {
            message: message.into(),
            offset: self.offset(id),
        }
    }

    fn node(&self, id: u64, kind: Kind, ty: Ty) -> Converted {
        Ok((
            Expr {
                offset: self.offset(id),
                kind,
            },
            ty,
        ))
    }

    fn boxed(&mut self, e: &IdedExpr) -> Result<(Box<Expr>, Ty), CompileError> {
        self.expr(e).map(|(e, t)| (Box::new(e), t))
    }

    fn expr(&mut self, e: &IdedExpr) -> Converted {
        match &e.expr {
            CelExpr::Literal(lit) => {
                let (kind, ty) = match lit {
                    LiteralValue::Null => (Kind::Null, Ty::Null),
                    LiteralValue::Boolean(b) => (Kind::Bool(*b.inner()), Ty::Bool),
                    LiteralValue::Int(i) => (Kind::Int(*i.inner()), Ty::Int),
                    LiteralValue::UInt(u) => (Kind::Uint(*u.inner()), Ty::Uint),
                    LiteralValue::Double(d) => (Kind::Double(*d.inner()), Ty::Double),
                    LiteralValue::String(s) => (Kind::Str(s.inner().to_string()), Ty::String),
                    LiteralValue::Bytes(b) => (Kind::Bytes(b.inner().to_vec()), Ty::Bytes),
                };
                self.node(e.id, kind, ty)
            }
            CelExpr::Ident(name) => self.ident(e.id, name),
            CelExpr::Select(select) => {
                if let CelExpr::Ident(root) = &select.operand.expr
                    && root == "variables"
                    && !self.scope.iter().any(|s| s == "variables")
                {
                    let Some(index) = self.decls.variables.iter().position(|v| *v == select.field)
                    else {
                        return Err(self.error(
                            e.id,
                            format!(
                                "undeclared reference to 'variables.{}' (the policy's variables{}: {})",
                                select.field,
                                if self.decls.variables.is_empty() { "" } else { " declared before this expression" },
                                if self.decls.variables.is_empty() {
                                    "none".to_string()
                                } else {
                                    self.decls.variables.join(", ")
                                }
                            ),
                        ));
                    };
                    if select.test {
                        return self.node(e.id, Kind::Bool(true), Ty::Bool);
                    }
                    return self.node(e.id, Kind::Variable(index), Ty::Dyn);
                }
                let (operand, ty) = self.boxed(&select.operand)?;
                if !matches!(ty, Ty::Dyn | Ty::Map | Ty::Optional) {
                    return Err(self.error(
                        e.id,
                        format!("type '{}' does not support field selection", ty.name()),
                    ));
                }
                let ty = if select.test {
                    Ty::Bool
                } else if ty == Ty::Optional {
                    Ty::Optional
                } else {
                    Ty::Dyn
                };
                self.node(
                    e.id,
                    Kind::Select {
                        operand,
                        field: select.field.clone(),
                        test: select.test,
                    },
                    ty,
                )
            }
            CelExpr::Call(call) => {
                self.call(e.id, &call.func_name, call.target.as_deref(), &call.args)
            }
            CelExpr::List(list) => {
                let mut items = Vec::with_capacity(list.elements.len());
                for item in &list.elements {
                    items.push(self.expr(item)?.0);
                }
                self.node(
                    e.id,
                    Kind::List {
                        items,
                        optional: list.optional_indices.clone(),
                    },
                    Ty::List,
                )
            }
            CelExpr::Map(map) => {
                let mut entries = Vec::with_capacity(map.entries.len());
                for entry in &map.entries {
                    let EntryExpr::MapEntry(entry) = &entry.expr else {
                        return Err(self.error(entry.id, "unsupported: message construction"));
                    };
                    let (key, key_ty) = self.expr(&entry.key)?;
                    if !matches!(key_ty, Ty::Dyn | Ty::String | Ty::Int | Ty::Uint | Ty::Bool) {
                        return Err(self.error(
                            entry.key.id,
                            format!("unsupported map key type '{}'", key_ty.name()),
                        ));
                    }
                    entries.push((key, self.expr(&entry.value)?.0, entry.optional));
                }
                self.node(e.id, Kind::Map { entries }, Ty::Map)
            }
            CelExpr::Comprehension(c) => self.comprehension(e.id, c),
            CelExpr::Struct(s) => Err(self.error(
                e.id,
                format!("unsupported: message construction '{}{{...}}'", s.type_name),
            )),
            CelExpr::Unspecified => Err(self.error(e.id, "empty expression")),
        }
    }

    fn ident(&mut self, id: u64, name: &str) -> Converted {
        if self.scope.iter().any(|s| s == name) {
            return self.node(id, Kind::Local(name.to_string()), Ty::Dyn);
        }
        let root = match name {
            "object" => Root::Object,
            "oldObject" => Root::OldObject,
            "request" => Root::Request,
            "namespaceObject" => Root::NamespaceObject,
            "params" => Root::Params,
            "authorizer" => {
                return Err(self.error(
                    id,
                    "unsupported: 'authorizer' (kcc decides offline, without the API server's authorization)",
                ));
            }
            "variables" => {
                return Err(self.error(id, "'variables' is used only as 'variables.<name>'"));
            }
            _ => {
                if let Some(t) = TYPE_NAMES.iter().find(|t| **t == name) {
                    return self.node(id, Kind::TypeName(t), Ty::Type);
                }
                return Err(self.error(id, format!("undeclared reference to '{name}'")));
            }
        };
        self.node(id, Kind::Root(root), Ty::Dyn)
    }

    fn comprehension(&mut self, id: u64, c: &cel::common::ast::ComprehensionExpr) -> Converted {
        let unsupported = CompileError {
            message: "unsupported comprehension (only the standard macros are)".to_string(),
            offset: self.offset(id),
        };
        if c.accu_var != "@result" || c.iter_var2.is_some() {
            return Err(unsupported);
        }
        let (range, range_ty) = self.boxed(&c.iter_range)?;
        if !matches!(range_ty, Ty::Dyn | Ty::List | Ty::Map) {
            return Err(self.error(
                c.iter_range.id,
                format!("type '{}' cannot be iterated over", range_ty.name()),
            ));
        }
        let var = c.iter_var.clone();
        let is_accu = |e: &IdedExpr| matches!(&e.expr, CelExpr::Ident(n) if n == "@result");
        fn as_call(e: &IdedExpr) -> Option<(&str, &Vec<IdedExpr>)> {
            match &e.expr {
                CelExpr::Call(call) => Some((call.func_name.as_str(), &call.args)),
                _ => None,
            }
        }
        // The macros' loop steps, as cel's parser writes them.
        let (kind, ty) = match (as_call(&c.loop_step), &c.accu_init.expr) {
            (Some((op, args)), CelExpr::Literal(LiteralValue::Boolean(init)))
                if (op == operators::LOGICAL_AND || op == operators::LOGICAL_OR)
                    && args.len() == 2
                    && is_accu(&args[0]) =>
            {
                let quantifier = if *init.inner() {
                    Quantifier::All
                } else {
                    Quantifier::Exists
                };
                let predicate = self.scoped(&var, &args[1])?;
                (
                    Kind::Quantifier {
                        quantifier,
                        range,
                        var,
                        predicate,
                    },
                    Ty::Bool,
                )
            }
            (Some((op, args)), CelExpr::Literal(LiteralValue::Int(_)))
                if op == operators::CONDITIONAL && args.len() == 3 =>
            {
                let predicate = self.scoped(&var, &args[0])?;
                (
                    Kind::Quantifier {
                        quantifier: Quantifier::ExistsOne,
                        range,
                        var,
                        predicate,
                    },
                    Ty::Bool,
                )
            }
            (Some((op, args)), CelExpr::List(_)) => {
                // `@result + [f]`, or `p ? @result + [f] : @result`
                let (filter, append) = if op == operators::CONDITIONAL && args.len() == 3 {
                    (Some(&args[0]), &args[1])
                } else {
                    (None, &c.loop_step)
                };
                let Some((operators::ADD, add)) = as_call(append) else {
                    return Err(unsupported);
                };
                let CelExpr::List(item) = &add[1].expr else {
                    return Err(unsupported);
                };
                let element = &item.elements[0];
                let is_filter = matches!(&element.expr, CelExpr::Ident(n) if *n == var);
                let filter = match filter {
                    Some(f) => Some(self.scoped(&var, f)?),
                    None => None,
                };
                let transform = if is_filter && filter.is_some() {
                    None
                } else {
                    Some(self.scoped(&var, element)?)
                };
                (
                    Kind::Collect {
                        range,
                        var,
                        filter,
                        transform,
                    },
                    Ty::List,
                )
            }
            _ => return Err(unsupported),
        };
        self.node(id, kind, ty)
    }

    fn scoped(&mut self, var: &str, e: &IdedExpr) -> Result<Box<Expr>, CompileError> {
        self.scope.push(var.to_string());
        let converted = self.boxed(e);
        self.scope.pop();
        Ok(converted?.0)
    }

    fn call(
        &mut self,
        id: u64,
        name: &str,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
    ) -> Converted {
        let binary = |op| match args.len() {
            2 => Some(op),
            _ => None,
        };
        let op = match name {
            operators::ADD => binary(BinOp::Add),
            operators::SUBSTRACT => binary(BinOp::Sub),
            operators::MULTIPLY => binary(BinOp::Mul),
            operators::DIVIDE => binary(BinOp::Div),
            operators::MODULO => binary(BinOp::Rem),
            operators::EQUALS => binary(BinOp::Eq),
            operators::NOT_EQUALS => binary(BinOp::Ne),
            operators::LESS => binary(BinOp::Lt),
            operators::LESS_EQUALS => binary(BinOp::Le),
            operators::GREATER => binary(BinOp::Gt),
            operators::GREATER_EQUALS => binary(BinOp::Ge),
            operators::IN => binary(BinOp::In),
            _ => None,
        };
        if let Some(op) = op {
            let (left, lt) = self.boxed(&args[0])?;
            let (right, rt) = self.boxed(&args[1])?;
            let ty = binary_type(op, lt, rt).ok_or_else(|| {
                self.error(
                    id,
                    format!(
                        "found no matching overload for '{}' applied to '({}, {})'",
                        op.symbol(),
                        lt.name(),
                        rt.name()
                    ),
                )
            })?;
            return self.node(id, Kind::Binary(op, left, right), ty);
        }
        match (name, args.len()) {
            (operators::LOGICAL_AND | operators::LOGICAL_OR, 2) => {
                let (left, lt) = self.boxed(&args[0])?;
                let (right, rt) = self.boxed(&args[1])?;
                self.want_bool(id, name, &[lt, rt])?;
                let kind = if name == operators::LOGICAL_AND {
                    Kind::And(left, right)
                } else {
                    Kind::Or(left, right)
                };
                return self.node(id, kind, Ty::Bool);
            }
            (operators::LOGICAL_NOT, 1) => {
                let (operand, t) = self.boxed(&args[0])?;
                self.want_bool(id, name, &[t])?;
                return self.node(id, Kind::Not(operand), Ty::Bool);
            }
            (operators::NEGATE, 1) => {
                let (operand, t) = self.boxed(&args[0])?;
                if !matches!(t, Ty::Dyn | Ty::Int | Ty::Double) {
                    return Err(self.error(
                        id,
                        format!(
                            "found no matching overload for '-_' applied to '({})'",
                            t.name()
                        ),
                    ));
                }
                return self.node(id, Kind::Neg(operand), t);
            }
            (operators::CONDITIONAL, 3) => {
                let (cond, ct) = self.boxed(&args[0])?;
                self.want_bool(id, name, &[ct])?;
                let (yes, yt) = self.boxed(&args[1])?;
                let (no, nt) = self.boxed(&args[2])?;
                let ty = if yt == nt { yt } else { Ty::Dyn };
                return self.node(id, Kind::Cond(cond, yes, no), ty);
            }
            (operators::INDEX | operators::OPT_INDEX, 2) => {
                let (operand, ot) = self.boxed(&args[0])?;
                let (index, _) = self.boxed(&args[1])?;
                if !matches!(ot, Ty::Dyn | Ty::List | Ty::Map | Ty::Optional) {
                    return Err(self.error(
                        id,
                        format!(
                            "found no matching overload for '_[_]' applied to '({}, ...)'",
                            ot.name()
                        ),
                    ));
                }
                let optional = name == operators::OPT_INDEX || ot == Ty::Optional;
                let ty = if optional { Ty::Optional } else { Ty::Dyn };
                return self.node(
                    id,
                    Kind::Index {
                        operand,
                        index,
                        optional: name == operators::OPT_INDEX,
                    },
                    ty,
                );
            }
            (operators::OPT_SELECT, 2) => {
                let (operand, _) = self.boxed(&args[0])?;
                let CelExpr::Literal(LiteralValue::String(field)) = &args[1].expr else {
                    return Err(self.error(id, "the field of '.?' must be a name"));
                };
                return self.node(
                    id,
                    Kind::OptSelect {
                        operand,
                        field: field.inner().to_string(),
                    },
                    Ty::Optional,
                );
            }
            _ => {}
        }
        // `optional.of(x)`, `strings.quote(s)`, `sets.contains(a, b)`, `cel.bind(...)`:
        // a namespace, not a receiver.
        let (name, target) = match target.map(|t| &t.expr) {
            Some(CelExpr::Ident(ns))
                if ["optional", "strings", "sets", "cel", "ip"].contains(&ns.as_str())
                    && !self.scope.iter().any(|s| s == ns) =>
            {
                (format!("{ns}.{name}"), None)
            }
            _ => (name.to_string(), target),
        };
        if name == "cel.bind" || name == "optMap" || name == "optFlatMap" {
            return self.binding_call(id, &name, target, args);
        }
        let converted_target = match target {
            Some(t) => Some(self.boxed(t)?),
            None => None,
        };
        let mut converted_args = Vec::with_capacity(args.len());
        let mut arg_types = Vec::with_capacity(args.len());
        for a in args {
            let (a, t) = self.expr(a)?;
            converted_args.push(a);
            arg_types.push(t);
        }
        let receiver = converted_target.as_ref().map(|(_, t)| *t);
        let signature = match functions::resolve(&name, receiver, &arg_types) {
            Ok(signature) => signature,
            Err(message) => return Err(self.error(id, message)),
        };
        let Signature {
            name: static_name,
            returns,
        } = signature;
        // A constant pattern is compiled now: its syntax error is the policy's.
        let pattern = match static_name {
            "matches" | "find" | "findAll" => {
                let index = if converted_target.is_some() { 0 } else { 1 };
                match converted_args.get(index).map(|a| &a.kind) {
                    Some(Kind::Str(p)) => Some(Regex::new(p).map_err(|e| {
                        self.error(args[index].id, format!("invalid regular expression: {e}"))
                    })?),
                    _ => None,
                }
            }
            _ => None,
        };
        self.node(
            id,
            Kind::Call {
                name: static_name,
                target: converted_target.map(|(t, _)| t),
                args: converted_args,
                regex: pattern,
            },
            returns,
        )
    }

    /// `cel.bind(v, init, body)`, `o.optMap(v, f)`, `o.optFlatMap(v, f)`: calls that
    /// declare a variable for one argument.
    fn binding_call(
        &mut self,
        id: u64,
        name: &str,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
    ) -> Converted {
        let (var, rest) = match (name, target, args) {
            ("cel.bind", None, [v, init, body]) => (v, [init, body]),
            ("optMap" | "optFlatMap", Some(t), [v, body]) => (v, [t, body]),
            _ => return Err(self.error(id, format!("wrong number of arguments to '{name}'"))),
        };
        let CelExpr::Ident(var) = &var.expr else {
            return Err(self.error(var.id, "argument must be a simple name"));
        };
        let (init, _) = self.boxed(rest[0])?;
        let body = self.scoped(var, rest[1])?;
        let var = var.clone();
        if name == "cel.bind" {
            self.node(id, Kind::Bind { var, init, body }, Ty::Dyn)
        } else {
            self.node(
                id,
                Kind::OptMap {
                    target: init,
                    var,
                    body,
                    flat: name == "optFlatMap",
                },
                Ty::Optional,
            )
        }
    }

    fn want_bool(&self, id: u64, op: &str, types: &[Ty]) -> Result<(), CompileError> {
        if types.iter().all(|t| matches!(t, Ty::Dyn | Ty::Bool)) {
            return Ok(());
        }
        let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
        Err(self.error(
            id,
            format!(
                "found no matching overload for '{op}' applied to '({})'",
                names.join(", ")
            ),
        ))
    }
}

/// The result type of a binary operator, `None` when the (known) operand types have no
/// overload.
fn binary_type(op: BinOp, l: Ty, r: Ty) -> Option<Ty> {
    use BinOp::*;
    let dyn_side = l == Ty::Dyn || r == Ty::Dyn;
    match op {
        Eq | Ne => Some(Ty::Bool),
        In => matches!(r, Ty::Dyn | Ty::List | Ty::Map).then_some(Ty::Bool),
        Lt | Le | Gt | Ge => {
            let ok = dyn_side
                || (l.is_number() && r.is_number())
                || (l == r && matches!(l, Ty::String | Ty::Bytes | Ty::Bool));
            ok.then_some(Ty::Bool)
        }
        Add => {
            if dyn_side {
                return Some(if l == Ty::Dyn { r } else { l });
            }
            (l == r
                && matches!(
                    l,
                    Ty::Int | Ty::Uint | Ty::Double | Ty::String | Ty::Bytes | Ty::List
                ))
            .then_some(l)
        }
        Sub | Mul | Div => {
            if dyn_side {
                return Some(if l == Ty::Dyn { r } else { l });
            }
            (l == r && l.is_number()).then_some(l)
        }
        Rem => {
            if dyn_side {
                return Some(if l == Ty::Dyn { r } else { l });
            }
            (l == r && matches!(l, Ty::Int | Ty::Uint)).then_some(l)
        }
    }
}
