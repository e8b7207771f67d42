module timap

go 1.26.0

require (
	github.com/bits-and-blooms/bloom/v3 v3.7.1
	github.com/gaissmai/bart v0.30.0
	github.com/yl2chen/cidranger v1.0.2
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/net v0.62.0
)

require (
	github.com/bits-and-blooms/bitset v1.24.2 // indirect
	golang.org/x/text v0.43.0 // indirect
)
