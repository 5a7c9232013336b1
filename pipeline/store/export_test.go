package store

// SetInsertBlockRows sets the rows per INSERT block (benchmarks compare sizes).
func SetInsertBlockRows(n int) (old int) {
	old, insertBlockRows = insertBlockRows, n
	return old
}
