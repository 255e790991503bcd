//! Writes one figure of every kind, and a multi-panel figure of all of them, from synthetic
//! data: `cargo run -p aesgd-figures --example gallery [-- OUT_DIR]` (default `target/gallery`).

use aesgd_figures::{Style, gallery, render, render_panels};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).map_or_else(|| PathBuf::from("target/gallery"), PathBuf::from);
    std::fs::create_dir_all(&out)?;
    let style = Style::default();
    let plots = gallery::examples();
    for (name, plot) in &plots {
        let path = out.join(format!("{name}.svg"));
        std::fs::write(&path, render(plot, &style)?)?;
        println!("wrote {}", path.display());
    }
    let all: Vec<_> = plots.into_iter().map(|(_, p)| p).collect();
    let path = out.join("panels.svg");
    std::fs::write(&path, render_panels(&all, 3, &style)?)?;
    println!("wrote {}", path.display());
    Ok(())
}
