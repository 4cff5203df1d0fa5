package scanner

import "net/netip"

// heldCaps returns how many endpoints and addresses s holds connection
// caps for now, and the endpoints it remembers as taking one connection
// at a time.
func (s *Scanner) heldCaps() (endpoints, addresses, oneAtATime int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.perPort), len(s.perIP), len(s.oneAtATime)
}

// users returns how many users hold ap's caps (0: none held).
func (s *Scanner) users(ap netip.AddrPort) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.perPort[ap]; e != nil {
		return e.users
	}
	return 0
}
