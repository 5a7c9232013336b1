// Package pipeline holds unitcost's domain types: the normalised Span every attribute
// family is mapped onto, the priced LineItem, the Workflow fact, and exact Money.
//
// It does no I/O. Data flows one way through the subpackages:
// otlp -> normalize -> kafka -> stitch -> pricing -> store -> report / alert.
package pipeline
