//! A short description of each rule, for the formats that list the rules (SARIF).

/// What `rule` reports, in a few words; for an id kcc does not know, its family's.
pub fn description(rule: &str) -> &'static str {
    match rule {
        "yaml/syntax" => "A YAML file does not parse",
        "yaml/duplicate-key" => "A key is written twice in one YAML map",
        "yaml/too-large" => "A YAML file has too many nodes or nests too deep",
        "yaml/number" => "An integer literal beyond 64 bits",
        "yaml/ambiguous" => "A plain scalar that YAML 1.1 readers read differently",
        "input/too-large" => "A file or stdin over 16 MiB",
        "input/path" => "A path outside the project, or a directory where a file belongs",
        "template/too-large" => "A template renders over 16 MiB",
        "template/syntax" => "A chart template does not parse",
        "template/undefined" => "A chart template reads an undefined value",
        "template/out-of-fuel" => "A chart template runs out of fuel",
        "values/schema" => "Merged values break the chart's values.schema.json",
        "values/unread" => "A values file no cluster and release reads",
        "values/missing-group" => "A cluster's group has no values file",
        "values/unknown-key" => "A release values key its chart does not know",
        "values/unused" => "A value that no template nor kcc reads",
        "schema/kubernetes" => "A rendered object breaks its Kubernetes schema",
        "schema/crd" => "A custom resource breaks its CRD schema",
        "schema/unknown-kind" => "An object whose kind has no schema",
        "schema/removed-api" => "An API the Kubernetes version no longer serves",
        "schema/deprecated-api" => "An API a later supported Kubernetes version removes",
        "schema/upgrade" => "What the target Kubernetes version would break",
        "project/kubernetes-version" => {
            "A Kubernetes version kcc has no schemas for, or two that disagree"
        }
        "project/toggle" => "A cluster toggle nothing tests",
        "network/coredns-ip" => "The CoreDNS service IP is out of place",
        "network/ippool" => "A calico IPPool is invalid or overlaps another range",
        "network/fleet-overlap" => "Two clusters' ranges overlap",
        "network/missing" => "A cluster lacks a network range, AS number or IP pool",
        "network/cidr" => "A network allocation is not a valid CIDR of its family",
        "network/bgp" => "A BGP AS or peer is invalid or shared",
        "objects/duplicate" => "An object rendered twice in a cluster",
        "objects/namespace" => "An object in a namespace the cluster does not have",
        "objects/resource-name" => "A container resource Kubernetes does not know",
        "rbac/role-ref" => "A binding's roleRef is neither rendered nor built in",
        "psp/use" => "A PodSecurityPolicy no role grants use on",
        "releases/needs" => "A release needs a release not installed in the cluster",
        "secret/flow" => "A private value written outside a Secret's data",
        "golden/drift" => "The render differs from golden/",
        "golden/interrupted" => "A kcc update was interrupted: golden/ may mix old and new",
        _ => match rule.split('/').next().unwrap_or_default() {
            "yaml" => "YAML input",
            "input" => "Input files",
            "template" => "A chart template error",
            "values" => "Values files",
            "schema" => "Object schemas",
            "project" => "kcc.yaml",
            "network" => "Network allocations",
            "chart" => "Chart metadata",
            _ => "A kcc check",
        },
    }
}
