module github.com/windowagg/windowagg/examples/fleet

go 1.24.0

require github.com/windowagg/windowagg/bindings/go v0.0.0

replace github.com/windowagg/windowagg/bindings/go => ../../bindings/go
