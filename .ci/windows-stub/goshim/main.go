//go:build windows

// Command go is the go tool as a test binary running under Wine sees it:
// it runs the host's (Linux) go with GOOS=windows, so tests that build a
// program with testbin get a real windows/amd64 executable. .ci/windows
// builds it as go.exe and puts it on Wine's PATH (WINEPATH); it is not for
// real Windows, where the real go tool is there.
//
// Wine starts Linux programs through ntdll's __wine_unix_spawnvp, which
// waits and returns the exit status, but the child gets neither the
// Windows working directory, environment nor standard handles: so the
// working directory and arguments that are Windows paths are translated
// with kernel32's wine_get_unix_file_name, GOOS and GOARCH are set, and the
// output goes through files in a Linux temporary folder.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

var (
	ntdll    = syscall.NewLazyDLL("ntdll.dll")
	kernel32 = syscall.NewLazyDLL("kernel32.dll")
	spawnvp  = ntdll.NewProc("__wine_unix_spawnvp")
	unixName = kernel32.NewProc("wine_get_unix_file_name")
	heapFree = kernel32.NewProc("HeapFree")
	getHeap  = kernel32.NewProc("GetProcessHeap")
)

// toUnix returns the Linux path of the Windows path p.
func toUnix(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	w, err := syscall.UTF16PtrFromString(abs)
	if err != nil {
		return "", err
	}
	r, _, _ := unixName.Call(uintptr(unsafe.Pointer(w)))
	if r == 0 {
		return "", fmt.Errorf("wine_get_unix_file_name(%s) failed", abs)
	}
	// A char* that Wine allocated on the process heap.
	cstr := *(*unsafe.Pointer)(unsafe.Pointer(&r))
	var b []byte
	for i := 0; ; i++ {
		c := *(*byte)(unsafe.Add(cstr, i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	h, _, _ := getHeap.Call()
	heapFree.Call(h, 0, r)
	return string(b), nil
}

// isWinPath says whether s is an absolute Windows path (C:\x or C:/x).
func isWinPath(s string) bool {
	return len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') &&
		(s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z')
}

// arg translates one argument: a Windows path, or -flag=path.
func arg(s string) (string, error) {
	if isWinPath(s) {
		return toUnix(s)
	}
	if i := strings.IndexByte(s, '='); strings.HasPrefix(s, "-") && i > 0 && isWinPath(s[i+1:]) {
		u, err := toUnix(s[i+1:])
		return s[:i+1] + u, err
	}
	return s, nil
}

func main() {
	if err := spawnvp.Find(); err != nil {
		fmt.Fprintln(os.Stderr, "goshim: not running under Wine:", err)
		os.Exit(2)
	}
	os.Exit(run())
}

func run() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "goshim:", err)
		return 2
	}
	wd, err := os.Getwd()
	if err != nil {
		return fail(err)
	}
	dir, err := toUnix(wd)
	if err != nil {
		return fail(err)
	}
	// A Linux folder for the output, reached from here through its
	// Windows name on the Z: drive that Wine maps to /.
	tmp := os.Getenv("MOLT_WINE_HOST_TMP")
	if tmp == "" {
		tmp = "/tmp"
	}
	out, err := os.MkdirTemp(`Z:`+filepath.FromSlash(tmp), "goshim-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(out)
	uout, err := toUnix(out)
	if err != nil {
		return fail(err)
	}

	goTool := os.Getenv("MOLT_WINE_HOST_GO")
	if goTool == "" {
		goTool = "go"
	}
	// sh -c script dir stdout stderr env... -- go args...
	argv := []string{"/bin/sh", "-c",
		`cd "$1" || exit 2; o=$2; e=$3; shift 3; exec env "$@" >"$o" 2>"$e"`,
		"sh", dir, uout + "/stdout", uout + "/stderr"}
	goos, goarch := os.Getenv("GOOS"), os.Getenv("GOARCH")
	if goos == "" {
		goos = "windows"
	}
	if goarch == "" {
		goarch = "amd64"
	}
	argv = append(argv, "GOOS="+goos, "GOARCH="+goarch)
	for _, k := range []string{"CGO_ENABLED", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOWORK", "GO111MODULE", "GOPROXY"} {
		if v, ok := os.LookupEnv(k); ok {
			argv = append(argv, k+"="+v)
		}
	}
	if _, ok := os.LookupEnv("CGO_ENABLED"); !ok {
		argv = append(argv, "CGO_ENABLED=0")
	}
	argv = append(argv, goTool)
	for _, a := range os.Args[1:] {
		u, err := arg(a)
		if err != nil {
			return fail(err)
		}
		argv = append(argv, u)
	}

	var cargv []*byte
	for _, a := range argv {
		b, err := syscall.BytePtrFromString(a)
		if err != nil {
			return fail(err)
		}
		cargv = append(cargv, b)
	}
	cargv = append(cargv, nil)
	status, _, _ := spawnvp.Call(uintptr(unsafe.Pointer(&cargv[0])), 1)

	for _, f := range []struct {
		name string
		to   *os.File
	}{{"stdout", os.Stdout}, {"stderr", os.Stderr}} {
		if b, err := os.ReadFile(filepath.Join(out, f.name)); err == nil {
			f.to.Write(b)
		}
	}
	return int(int32(status))
}
