module github.com/windowagg/windowagg/bindings/go

go 1.24.0
