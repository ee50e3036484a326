"""Training: recipes per task, atomic checkpoints with resume, history."""
