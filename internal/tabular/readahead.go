package tabular

import "errors"

// readAhead decodes the next batches of a Reader on a goroutine of its
// own while the caller works on the current one: decompressing and
// decoding pages is a large share of every pass over a file.
type readAhead struct {
	ready chan readResult // decoded batches, in file order
	free  chan *Batch     // batches the caller is done with
	stop  chan struct{}
	done  chan struct{}
	cur   *Batch // the batch last returned by Next, recycled by the next call
	err   error  // the decoding ended with it (io.EOF at the end)
}

type readResult struct {
	b   *Batch
	err error // io.EOF after the last batch
}

// readAheadBatches: one being used by the caller, one being decoded, one
// ready.
const readAheadBatches = 3

// ReadAhead makes Next hand out batches decoded ahead on another
// goroutine. Call it after Select and before the first Next; Close stops
// the goroutine. Batches stay valid until the following Next, as before.
func (r *Reader) ReadAhead() error {
	if r.ahead != nil || r.started() {
		return errors.New("tabular: ReadAhead after reading started")
	}
	a := &readAhead{
		ready: make(chan readResult, readAheadBatches-1),
		free:  make(chan *Batch, readAheadBatches),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for range readAheadBatches {
		a.free <- newBatch(r.schema)
	}
	r.ahead = a
	go r.decodeAhead(a)
	return nil
}

func (r *Reader) decodeAhead(a *readAhead) {
	defer close(a.done)
	for {
		var b *Batch
		select {
		case b = <-a.free:
		case <-a.stop:
			return
		}
		b2, err := r.nextInto(b)
		select {
		case a.ready <- readResult{b: b2, err: err}:
		case <-a.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (a *readAhead) next() (*Batch, error) {
	if a.err != nil {
		return nil, a.err // the goroutine has ended
	}
	if a.cur != nil {
		a.free <- a.cur
		a.cur = nil
	}
	res := <-a.ready
	if res.err != nil {
		a.err = res.err
		return nil, res.err
	}
	a.cur = res.b
	return res.b, nil
}

func (a *readAhead) close() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	<-a.done
}
