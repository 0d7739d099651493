module goroutines-bench-go

go 1.19
