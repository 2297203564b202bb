package filestore

// OnSync makes s report every directory it fsyncs.
func OnSync(s *Store, f func(dir string)) { s.synced = f }
