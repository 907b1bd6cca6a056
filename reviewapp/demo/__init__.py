"""Demo users and projects, and the generated sample data they (and the bench) use."""
