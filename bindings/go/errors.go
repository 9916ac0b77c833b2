package windowagg

/*
#include "helpers.h"
*/
import "C"

import (
	"errors"
	"strconv"
)

// Status is a library status code (AGGREGATOR_E* in windowagg.h).
type Status int

// Status codes of the C ABI.
const (
	StatusOK              Status = 0
	StatusInvalidArgument Status = 1
	StatusConfig          Status = 2
	StatusValue           Status = 3
	StatusNotFound        Status = 4
	StatusBuffer          Status = 5
	StatusNoMemory        Status = 6
	StatusKeyLimit        Status = 7
	StatusMemoryLimit     Status = 8
	StatusCorrupt         Status = 9
	StatusVersion         Status = 10
	StatusMismatch        Status = 11
	StatusUnsupported     Status = 12
	StatusInternal        Status = 13
)

// String returns the library's generic text for the status code.
func (s Status) String() string {
	return C.GoString(C.aggregator_status_string(C.int(s)))
}

// Sentinel errors, one per status kind. Every error returned by this package
// for a library status is an *Error whose Is method matches the sentinel of
// its status, so errors.Is(err, windowagg.ErrNotFound) works.
var (
	ErrInvalidArgument = errors.New("windowagg: invalid argument")
	ErrConfig          = errors.New("windowagg: invalid configuration")
	ErrValue           = errors.New("windowagg: invalid value")
	ErrNotFound        = errors.New("windowagg: series not found")
	ErrBuffer          = errors.New("windowagg: buffer too small")
	ErrNoMemory        = errors.New("windowagg: out of memory")
	ErrKeyLimit        = errors.New("windowagg: key limit reached")
	ErrMemoryLimit     = errors.New("windowagg: memory limit reached")
	ErrCorrupt         = errors.New("windowagg: corrupt serialized state")
	ErrVersion         = errors.New("windowagg: unknown serialized state version")
	ErrMismatch        = errors.New("windowagg: configuration mismatch")
	ErrUnsupported     = errors.New("windowagg: operation not supported")
	ErrInternal        = errors.New("windowagg: internal error")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("windowagg: aggregator is closed")
)

var sentinels = map[Status]error{
	StatusInvalidArgument: ErrInvalidArgument,
	StatusConfig:          ErrConfig,
	StatusValue:           ErrValue,
	StatusNotFound:        ErrNotFound,
	StatusBuffer:          ErrBuffer,
	StatusNoMemory:        ErrNoMemory,
	StatusKeyLimit:        ErrKeyLimit,
	StatusMemoryLimit:     ErrMemoryLimit,
	StatusCorrupt:         ErrCorrupt,
	StatusVersion:         ErrVersion,
	StatusMismatch:        ErrMismatch,
	StatusUnsupported:     ErrUnsupported,
	StatusInternal:        ErrInternal,
}

// Error is a failed library call: its status and the library's detailed
// message (aggregator_last_error, read on the thread that made the call).
type Error struct {
	Status Status
	Msg    string
}

func (e *Error) Error() string {
	s := "windowagg: " + e.Status.String()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Is reports whether target is the sentinel error of e's status, or an *Error
// with the same status.
func (e *Error) Is(target error) bool {
	if t, ok := target.(*Error); ok {
		return t.Status == e.Status
	}
	s, ok := sentinels[e.Status]
	return ok && s == target
}

func argError(msg string) error {
	return &Error{Status: StatusInvalidArgument, Msg: msg}
}

func lengthError(what string, got, want int) error {
	return argError(what + " has length " + strconv.Itoa(got) + ", values has " + strconv.Itoa(want))
}
