package tlswarden

// StatusOutOfScope marks an endpoint whose address the scanner's scope
// refuses: no connection was made to it.
const StatusOutOfScope Status = "out_of_scope"
