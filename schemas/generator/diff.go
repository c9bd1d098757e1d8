package generator

import (
	"fmt"
	"strings"
)

// LineDiff is a readable line diff of a and b: the differing lines with a few lines of context, "-"
// for lines only in a and "+" for lines only in b, each hunk headed by its line numbers. It is "" when
// a and b are equal.
func LineDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// Longest common subsequence, fine for files of a few thousand lines.
	n, m := len(x), len(y)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
		ai   int
		bi   int
	}
	var lines []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			lines = append(lines, line{' ', x[i], i, j})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, line{'-', x[i], i, j})
			i++
		default:
			lines = append(lines, line{'+', y[j], i, j})
			j++
		}
	}
	const context = 3
	var sb strings.Builder
	shown := -1
	for k, l := range lines {
		if l.op == ' ' {
			continue
		}
		start := max(k-context, shown+1)
		if start > shown+1 || shown == -1 {
			fmt.Fprintf(&sb, "@@ line %d @@\n", lines[start].ai+1)
		}
		for c := start; c <= k; c++ {
			fmt.Fprintf(&sb, "%c %s\n", lines[c].op, lines[c].text)
		}
		shown = k
		// trailing context, unless the next change is close enough to continue the hunk
		for c := k + 1; c < len(lines) && c <= k+context && lines[c].op == ' '; c++ {
			fmt.Fprintf(&sb, "  %s\n", lines[c].text)
			shown = c
		}
	}
	return sb.String()
}
