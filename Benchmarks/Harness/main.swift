print("goroutines-bench: not yet built")
