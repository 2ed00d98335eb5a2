//! Output: whether to colour what is printed.

/// `--color`: when to colour what kcc prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set or `TERM=dumb`; `CLICOLOR_FORCE` forces it
    #[default]
    Auto,
    /// Always, even into a file or pipe
    Always,
    /// Never
    Never,
}

static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// Sets `--color` for the process (once, from the command line).
pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

/// Whether to colour standard output.
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    color_for(std::io::stdout().is_terminal())
}

/// Whether to colour a stream that is (or is not) a terminal.
pub fn color_for(terminal: bool) -> bool {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    decide(
        COLOR.get().copied().unwrap_or_default(),
        &Env {
            no_color: env("NO_COLOR").is_some(),
            force: env("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
            dumb: env("TERM").is_some_and(|v| v == "dumb"),
        },
        terminal,
    )
}

struct Env {
    no_color: bool,
    force: bool,
    dumb: bool,
}

/// The flag wins; then NO_COLOR (https://no-color.org), CLICOLOR_FORCE
/// (https://bixense.com/clicolors), TERM=dumb, and whether the stream is a terminal.
fn decide(choice: ColorChoice, env: &Env, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if env.no_color => false,
        ColorChoice::Auto if env.force => true,
        ColorChoice::Auto => terminal && !env.dumb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_decisions() {
        let env = |no_color, force, dumb| Env {
            no_color,
            force,
            dumb,
        };
        use ColorChoice::*;
        assert!(decide(Auto, &env(false, false, false), true));
        assert!(!decide(Auto, &env(false, false, false), false));
        assert!(!decide(Auto, &env(true, false, false), true));
        assert!(!decide(Auto, &env(false, false, true), true));
        assert!(decide(Auto, &env(false, true, true), false));
        assert!(!decide(Auto, &env(true, true, false), true));
        assert!(decide(Always, &env(true, false, true), false));
        assert!(!decide(Never, &env(false, true, false), true));
    }
}
