module github.com/devsmith/logs/samples/go

go 1.22
