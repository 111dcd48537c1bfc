use std::path::Path;

pub fn run(_config: &Path) -> anyhow::Result<()> {
    anyhow::bail!("the demo is not written yet")
}
