package policy

import (
	"errors"

	"go.yaml.in/yaml/v3"

	"github.com/tlswarden/tlswarden"
)

// ParseWaivers reads a file of waivers alone, in the form a profile's
// "waivers" list takes: a mapping with one key, "waivers", or the list
// itself. Each waiver's rule must be one of p's rules. Every problem is
// reported, each as a *FileError with its line, joined into one error.
func ParseWaivers(name string, data []byte, p *Profile) ([]tlswarden.Waiver, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(name, err)
	}
	l := &loader{file: name}
	if len(doc.Content) == 0 {
		return nil, l.errorf(&doc, "empty file: want a list of waivers, or a mapping with \"waivers\"")
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		f := l.fields(list, "the waivers file", "waivers")
		if f == nil {
			return nil, errors.Join(l.errs...)
		}
		if f["waivers"] == nil {
			return nil, l.errorf(list, "missing \"waivers\": want the list of waivers")
		}
		list = f["waivers"]
	}
	holder := &Profile{Name: p.Name, Rules: p.Rules}
	l.waivers(holder, list)
	if err := errors.Join(l.errs...); err != nil {
		return nil, err
	}
	return holder.Waivers, nil
}
