// Command quantity-oracle reads one Kubernetes quantity per line on stdin and prints, per line, how Kubernetes'
// own parser (k8s.io/apimachinery resource.ParseQuantity) reads it: "invalid", or its exact decimal value, its
// Value() and its MilliValue() (both rounded up, as the API server does), separated by spaces.
package main

import (
	"bufio"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/api/resource"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		q, err := resource.ParseQuantity(in.Text())
		if err != nil {
			fmt.Fprintln(out, "invalid")
			continue
		}
		fmt.Fprintln(out, q.AsDec().String(), q.Value(), q.MilliValue())
	}
}
