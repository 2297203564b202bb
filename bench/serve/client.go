package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/granaryml/granary/internal/tabular"
)

// A fetcher looks up entities end to end: request, response, and the
// response decoded into typed values (out[i] for ids[i]). One per worker
// goroutine: it keeps buffers between calls.
type fetcher interface {
	fetch(ctx context.Context, ids []int64, out []entity) error
}

// granaryClient talks to granary's API over one shared http.Transport.
// It decodes answers as a typed Go client of the view would: into
// structs with one typed field per feature (a pointer for nullable
// ones), built here with reflect.StructOf since the columns are a
// parameter, via encoding/json.
type granaryClient struct {
	base, auth string
	http       *http.Client
	cols       []tabular.Column
	single     reflect.Type // granarySingle with typed features
	batch      reflect.Type // granaryBatch with typed features
	// noDecode skips decoding answers (status checked, body read): to
	// see how much of a latency is the client's JSON decoding.
	noDecode bool
}

func newGranaryClient(base, token string, cols []tabular.Column, conns int) *granaryClient {
	tr := &http.Transport{
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	c := &granaryClient{base: base, auth: "Bearer " + token, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, cols: cols}
	var fields []reflect.StructField
	for j, col := range cols {
		var t reflect.Type
		switch col.Type {
		case tabular.Float64:
			t = reflect.TypeFor[float64]()
		case tabular.Int64:
			t = reflect.TypeFor[int64]()
		default:
			t = reflect.TypeFor[string]()
		}
		if col.Nullable {
			t = reflect.PointerTo(t)
		}
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", j), Type: t, Tag: reflect.StructTag(fmt.Sprintf("json:%q", col.Name))})
	}
	feat := reflect.PointerTo(reflect.StructOf(fields))
	ent := reflect.TypeFor[struct {
		UserID *int64 `json:"user_id"`
	}]()
	field := func(name, tag string, t reflect.Type) reflect.StructField {
		return reflect.StructField{Name: name, Type: t, Tag: reflect.StructTag(`json:"` + tag + `"`)}
	}
	asOf := field("AsOf", "as_of", reflect.TypeFor[string]())
	c.single = reflect.StructOf([]reflect.StructField{asOf, field("Entity", "entity", ent), field("Features", "features", feat)})
	result := reflect.StructOf([]reflect.StructField{field("Entity", "entity", ent), field("Found", "found", reflect.TypeFor[bool]()), field("Features", "features", feat)})
	c.batch = reflect.StructOf([]reflect.StructField{asOf, field("Results", "results", reflect.SliceOf(result))})
	return c
}

type granaryFetcher struct {
	c    *granaryClient
	buf  bytes.Buffer
	body []byte
	url  []byte
}

func (c *granaryClient) fetcher() fetcher { return &granaryFetcher{c: c} }

type granaryError struct {
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

func (f *granaryFetcher) do(req *http.Request) (int, error) {
	req.Header.Set("Authorization", f.c.auth)
	resp, err := f.c.http.Do(req)
	if err != nil {
		return 0, err
	}
	f.buf.Reset()
	_, err = f.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

func (f *granaryFetcher) fetch(ctx context.Context, ids []int64, out []entity) error {
	if len(ids) == 1 {
		return f.single(ctx, ids[0], &out[0])
	}
	f.body = append(f.body[:0], `{"view":"`+viewName+`","entities":[`...)
	for i, id := range ids {
		if i > 0 {
			f.body = append(f.body, ',')
		}
		f.body = append(f.body, `{"`+keyName+`":`...)
		f.body = strconv.AppendInt(f.body, id, 10)
		f.body = append(f.body, '}')
	}
	f.body = append(f.body, "]}"...)
	req, err := http.NewRequestWithContext(ctx, "POST", f.c.base+"/v1/features:batch", bytes.NewReader(f.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	code, err := f.do(req)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("batch: HTTP %d: %.200s", code, f.buf.Bytes())
	}
	if f.c.noDecode {
		for i := range out {
			out[i].found = true
		}
		return nil
	}
	r := reflect.New(f.c.batch)
	if err := json.Unmarshal(f.buf.Bytes(), r.Interface()); err != nil {
		return fmt.Errorf("batch: %v", err)
	}
	asOf, err := time.Parse(time.RFC3339Nano, r.Elem().Field(0).String())
	if err != nil {
		return fmt.Errorf("batch: as_of: %v", err)
	}
	results := r.Elem().Field(1)
	if results.Len() != len(ids) {
		return fmt.Errorf("batch: %d results for %d entities", results.Len(), len(ids))
	}
	for i := range ids {
		res := results.Index(i)
		if err := checkEntity(res.Field(0), ids[i]); err != nil {
			return fmt.Errorf("batch result %d: %v", i, err)
		}
		e := &out[i]
		e.reset(len(f.c.cols))
		if !res.Field(1).Bool() {
			continue
		}
		e.found, e.asOf = true, asOf.Unix()
		if err := f.c.values(res.Field(2), e); err != nil {
			return fmt.Errorf("batch result %d: %v", i, err)
		}
	}
	return nil
}

func (f *granaryFetcher) single(ctx context.Context, id int64, e *entity) error {
	e.reset(len(f.c.cols))
	f.url = append(f.url[:0], f.c.base+"/v1/features/"+viewName+"?"+keyName+"="...)
	f.url = strconv.AppendInt(f.url, id, 10)
	req, err := http.NewRequestWithContext(ctx, "GET", string(f.url), nil)
	if err != nil {
		return err
	}
	code, err := f.do(req)
	if err != nil {
		return err
	}
	switch code {
	case http.StatusOK:
		if f.c.noDecode {
			e.found = true
			return nil
		}
	case http.StatusNotFound:
		var eb granaryError
		if err := json.Unmarshal(f.buf.Bytes(), &eb); err != nil || eb.Error.Code != "not_found" {
			return fmt.Errorf("lookup %d: HTTP 404: %.200s", id, f.buf.Bytes())
		}
		return nil
	default:
		return fmt.Errorf("lookup %d: HTTP %d: %.200s", id, code, f.buf.Bytes())
	}
	r := reflect.New(f.c.single)
	if err := json.Unmarshal(f.buf.Bytes(), r.Interface()); err != nil {
		return fmt.Errorf("lookup %d: %v", id, err)
	}
	if err := checkEntity(r.Elem().Field(1), id); err != nil {
		return fmt.Errorf("lookup %d: %v", id, err)
	}
	asOf, err := time.Parse(time.RFC3339Nano, r.Elem().Field(0).String())
	if err != nil {
		return fmt.Errorf("lookup %d: as_of: %v", id, err)
	}
	e.found, e.asOf = true, asOf.Unix()
	if err := f.c.values(r.Elem().Field(2), e); err != nil {
		return fmt.Errorf("lookup %d: %v", id, err)
	}
	return nil
}

// checkEntity checks the echoed entity key.
func checkEntity(ent reflect.Value, id int64) error {
	p := ent.Field(0)
	if p.IsNil() || p.Elem().Int() != id {
		return fmt.Errorf("answer is not for entity %d", id)
	}
	return nil
}

// values copies a decoded features struct into e.vals.
func (c *granaryClient) values(feat reflect.Value, e *entity) error {
	if feat.IsNil() {
		return fmt.Errorf("no features")
	}
	feat = feat.Elem()
	for j, col := range c.cols {
		v := feat.Field(j)
		if col.Nullable {
			if v.IsNil() {
				continue
			}
			v = v.Elem()
		}
		switch col.Type {
		case tabular.Float64:
			e.vals[j] = value{kind: 'f', f: v.Float()}
		case tabular.Int64:
			e.vals[j] = value{kind: 'i', i: v.Int()}
		default:
			e.vals[j] = value{kind: 's', s: v.String()}
		}
	}
	return nil
}

// redisKey is an entity's hash: Feast's key is the serialized entity key
// with the project, here the view and the id.
func redisKey(dst []byte, id int64) []byte {
	dst = append(dst, viewName+":"...)
	return strconv.AppendInt(dst, id, 10)
}

func newRedisClient(addr string, conns int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                     addr,
		PoolSize:                 conns,
		MinIdleConns:             conns,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// redisFetcher reads entities as Feast's Redis online store does: one
// command per entity (HMGET of the feature fields and _ts:<view>, or
// HGETALL), a pipeline (not a transaction) for a batch, then every
// field parsed into its type.
type redisFetcher struct {
	rdb     *redis.Client
	cols    []tabular.Column
	fields  []string // for HMGET: the features, then _ts
	hgetall bool
	// noDecode leaves the fields as go-redis returns them (strings),
	// unparsed.
	noDecode bool
	key      []byte
	hm       []*redis.SliceCmd
	ha       []*redis.MapStringStringCmd
}

func newRedisFetcher(rdb *redis.Client, cols []tabular.Column, cmd string) (*redisFetcher, error) {
	f := &redisFetcher{rdb: rdb, cols: cols}
	switch cmd {
	case "hmget":
		for _, c := range cols {
			f.fields = append(f.fields, c.Name)
		}
		f.fields = append(f.fields, redisTS)
	case "hgetall":
		f.hgetall = true
	default:
		return nil, fmt.Errorf("redis command %q: hmget or hgetall", cmd)
	}
	return f, nil
}

func (f *redisFetcher) fetch(ctx context.Context, ids []int64, out []entity) error {
	if len(ids) == 1 {
		f.key = redisKey(f.key[:0], ids[0])
		if f.hgetall {
			m, err := f.rdb.HGetAll(ctx, string(f.key)).Result()
			if err != nil {
				return err
			}
			return f.fromMap(m, &out[0])
		}
		vals, err := f.rdb.HMGet(ctx, string(f.key), f.fields...).Result()
		if err != nil {
			return err
		}
		return f.fromSlice(vals, &out[0])
	}
	pipe := f.rdb.Pipeline()
	f.hm, f.ha = f.hm[:0], f.ha[:0]
	for _, id := range ids {
		f.key = redisKey(f.key[:0], id)
		if f.hgetall {
			f.ha = append(f.ha, pipe.HGetAll(ctx, string(f.key)))
		} else {
			f.hm = append(f.hm, pipe.HMGet(ctx, string(f.key), f.fields...))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	for i := range ids {
		var err error
		if f.hgetall {
			err = f.fromMap(f.ha[i].Val(), &out[i])
		} else {
			err = f.fromSlice(f.hm[i].Val(), &out[i])
		}
		if err != nil {
			return fmt.Errorf("entity %d: %v", ids[i], err)
		}
	}
	return nil
}

func (f *redisFetcher) fromSlice(vals []any, e *entity) error {
	e.reset(len(f.cols))
	if len(vals) != len(f.cols)+1 {
		return fmt.Errorf("HMGET gave %d values for %d fields", len(vals), len(f.cols)+1)
	}
	ts, ok := vals[len(f.cols)].(string)
	if !ok {
		return nil // no such entity
	}
	if f.noDecode {
		e.found = true
		return nil
	}
	if err := f.setTS(ts, e); err != nil {
		return err
	}
	for j, c := range f.cols {
		s, ok := vals[j].(string)
		if !ok {
			continue // null
		}
		var err error
		if e.vals[j], err = parseText(c.Type, s); err != nil {
			return fmt.Errorf("field %s = %q: %v", c.Name, s, err)
		}
	}
	return nil
}

func (f *redisFetcher) fromMap(m map[string]string, e *entity) error {
	e.reset(len(f.cols))
	if len(m) == 0 {
		return nil // no such entity
	}
	if f.noDecode {
		e.found = true
		return nil
	}
	if err := f.setTS(m[redisTS], e); err != nil {
		return err
	}
	for j, c := range f.cols {
		s, ok := m[c.Name]
		if !ok {
			continue // null
		}
		var err error
		if e.vals[j], err = parseText(c.Type, s); err != nil {
			return fmt.Errorf("field %s = %q: %v", c.Name, s, err)
		}
	}
	return nil
}

func (f *redisFetcher) setTS(ts string, e *entity) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s = %q: %v", redisTS, ts, err)
	}
	e.found, e.asOf = true, sec
	return nil
}
