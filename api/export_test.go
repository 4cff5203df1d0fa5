package api

// Patterns returns the patterns of every route, for the documentation test.
func (s *Server) Patterns() []string { return s.patterns }
