module github.com/windowagg/windowagg/examples/go

go 1.24.0

require (
	github.com/prometheus/client_golang v1.23.2
	github.com/windowagg/windowagg/bindings/go v0.0.0
	github.com/windowagg/windowagg/bindings/go/prometheus v0.0.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.67.5 // indirect
	github.com/prometheus/procfs v0.19.2 // indirect
	go.yaml.in/yaml/v2 v2.4.3 // indirect
	golang.org/x/sys v0.41.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/windowagg/windowagg/bindings/go => ../../bindings/go
	github.com/windowagg/windowagg/bindings/go/prometheus => ../../bindings/go/prometheus
)
