module github.com/devsmith/logs/e2e/testdata/faults/go

go 1.22

require github.com/devsmith/logs/samples/go v0.0.0

replace github.com/devsmith/logs/samples/go => ../../../../samples/go
