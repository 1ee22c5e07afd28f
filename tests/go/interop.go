// Command interop checks a Veche log with an independent implementation:
// Go's golang.org/x/mod/sumdb/note (C2SP signed-note) and sumdb/tlog
// (RFC 6962 tree, tiles). It verifies the checkpoint's signature, parses it
// per C2SP tlog-checkpoint, authenticates every hash tile against the
// checkpoint's root with tlog.TileHashReader, reads every entry bundle and
// checks each entry's record hash and an inclusion proof.
//
// Usage: interop <log prefix URL or directory> <vkey> <expected origin>
// Run in GOPATH mode against Debian's golang-golang-x-mod-dev:
//   GO111MODULE=off GOPATH=/usr/share/gocode go run interop.go …
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var prefix string

func fetch(path string) ([]byte, error) {
	if strings.HasPrefix(prefix, "http://") || strings.HasPrefix(prefix, "https://") {
		resp, err := http.Get(prefix + "/" + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
	return os.ReadFile(filepath.Join(prefix, path))
}

// c2spPath writes a tile's C2SP tlog-tiles path (no height element;
// "entries" for data tiles).
func c2spPath(t tlog.Tile) string {
	n := fmt.Sprintf("%03d", t.N%1000)
	for rest := t.N / 1000; rest > 0; rest /= 1000 {
		n = fmt.Sprintf("x%03d/%s", rest%1000, n)
	}
	level := strconv.Itoa(t.L)
	if t.L == -1 {
		level = "entries"
	}
	p := "tile/" + level + "/" + n
	if t.W != 1<<t.H {
		p += fmt.Sprintf(".p/%d", t.W)
	}
	return p
}

type reader struct{}

func (reader) Height() int { return 8 }
func (reader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := fetch(c2spPath(t))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}
func (reader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: interop <prefix> <vkey> <origin>")
	}
	prefix = strings.TrimSuffix(os.Args[1], "/")
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("vkey: %v", err)
	}
	msg, err := fetch("checkpoint")
	if err != nil {
		fail("checkpoint: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		fail("checkpoint body malformed: %q", n.Text)
	}
	if lines[0] != os.Args[3] {
		fail("origin %q, want %q", lines[0], os.Args[3])
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || strconv.FormatInt(size, 10) != lines[1] {
		fail("size line %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != 32 {
		fail("root line %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	tree := tlog.Tree{N: size, Hash: root}
	thr := tlog.TileHashReader(tree, reader{})
	got, err := tlog.TreeHash(size, thr)
	if err != nil {
		fail("TreeHash: %v", err)
	}
	if got != root {
		fail("tree hash %v, checkpoint says %v", got, root)
	}
	// Every entry bundle: its entries' record hashes must be the tree's leaves.
	count := int64(0)
	for b := int64(0); b*256 < size; b++ {
		w := size - b*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: -1, N: b, W: int(w)}
		data, err := fetch(c2spPath(t))
		if err != nil {
			fail("%s: %v", c2spPath(t), err)
		}
		for i := int64(0); i < w; i++ {
			if len(data) < 2 {
				fail("%s: truncated at entry %d", c2spPath(t), i)
			}
			l := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+l {
				fail("%s: entry %d overruns the bundle", c2spPath(t), i)
			}
			entry := data[2 : 2+l]
			data = data[2+l:]
			idx := b*256 + i
			leaf, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, idx)})
			if err != nil {
				fail("leaf %d: %v", idx, err)
			}
			if tlog.RecordHash(entry) != leaf[0] {
				fail("entry %d: record hash differs from the tile", idx)
			}
			if idx%97 == 0 || idx == size-1 {
				p, err := tlog.ProveRecord(size, idx, thr)
				if err != nil {
					fail("ProveRecord %d: %v", idx, err)
				}
				if err := tlog.CheckRecord(p, size, root, idx, leaf[0]); err != nil {
					fail("CheckRecord %d: %v", idx, err)
				}
			}
			count++
		}
		if len(data) != 0 {
			fail("%s: %d trailing bytes", c2spPath(t), len(data))
		}
	}
	fmt.Printf("OK origin=%s size=%d root=%s entries=%d\n", lines[0], size, lines[2], count)
}
