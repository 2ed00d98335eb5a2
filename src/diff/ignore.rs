//! kcc.yaml's `diffIgnore`: fields a diff does not show (the exit code still counts them,
//! unless `--ignored-changes-pass`).

use super::{FleetDiff, Status};
use crate::project::DiffIgnore;

impl FleetDiff {
    /// Leaves out the field changes `rules` ignore, and the changed objects and files left
    /// with nothing to show; counts what it left out in `ignored`.
    pub fn hide_ignored(mut self, rules: &[DiffIgnore]) -> FleetDiff {
        if rules.is_empty() {
            return self;
        }
        for file in &mut self.files {
            for object in &mut file.objects {
                if object.status != Status::Changed {
                    continue;
                }
                let id = &object.object;
                let before = object.fields.len();
                object.fields.retain(|f| {
                    !rules
                        .iter()
                        .any(|r| r.matches(&id.api_version, &id.kind, &f.pointer))
                });
                self.ignored += before - object.fields.len();
            }
            file.objects
                .retain(|o| o.status != Status::Changed || !o.fields.is_empty());
        }
        self.files
            .retain(|f| f.status != Status::Changed || !f.objects.is_empty() || f.diff.is_some());
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::diff::Files;
    use crate::diff::diff;
    use crate::project::DiffIgnore;

    const OLD: &str = "---\n# Source: c/templates/d.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    helm.sh/chart: c-1\n  name: d\n  namespace: n\nspec:\n  replicas: 1\n";

    fn files(text: &str) -> Files {
        Files::from([("golden/a/c.yaml".to_string(), text.to_string())])
    }

    #[test]
    fn ignored_fields_are_not_shown() {
        let chart_only = OLD.replace("c-1", "c-2");
        let both = chart_only.replace("replicas: 1", "replicas: 2");
        let rule = |kind: Option<&str>| DiffIgnore {
            kind: kind.map(str::to_string),
            pointer: "/metadata/labels/helm.sh~1chart".into(),
        };
        // Only an ignored field changed: nothing to show, one change left out.
        let d = diff(&files(OLD), &files(&chart_only)).hide_ignored(&[rule(None)]);
        assert!(d.is_empty());
        assert_eq!(d.ignored, 1);
        // Another field too: the object stays, without the ignored field.
        let d = diff(&files(OLD), &files(&both)).hide_ignored(&[rule(Some("apps/v1/Deployment"))]);
        let fields: Vec<&str> = d.files[0].objects[0]
            .fields
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(fields, ["spec.replicas"]);
        // A rule for another kind ignores nothing; a parent pointer covers its children.
        let d = diff(&files(OLD), &files(&chart_only)).hide_ignored(&[rule(Some("Service"))]);
        assert_eq!(d.ignored, 0);
        let parent = DiffIgnore {
            kind: None,
            pointer: "/metadata/labels".into(),
        };
        let d = diff(&files(OLD), &files(&chart_only)).hide_ignored(&[parent]);
        assert!(d.is_empty());
        let sibling = DiffIgnore {
            kind: None,
            pointer: "/metadata/label".into(),
        };
        assert!(
            !diff(&files(OLD), &files(&chart_only))
                .hide_ignored(&[sibling])
                .is_empty()
        );
    }
}
