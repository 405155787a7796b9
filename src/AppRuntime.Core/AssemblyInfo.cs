// Placeholder so the project compiles before its sources land.
