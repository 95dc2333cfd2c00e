"""HTTP routes: thin functions that parse, call the engine or the store, and shape the reply."""
