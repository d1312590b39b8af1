package system

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/skiffrun/skiff/host/format"
)

type dfImageRow struct {
	Repository, Tag, ID, CreatedSince, Size, SharedSize, UniqueSize, Containers string
}

type dfContainerRow struct {
	ID, Image, Command, LocalVolumes, Size, RunningFor, Status, Names string
}

type dfVolumeRow struct {
	Name, Links, Size string
}

// printVerbose writes system df -v: a table each for images, containers
// and volumes, then the build cache's size and records (no usage count:
// the cache does not keep one).
func printVerbose(out io.Writer, u *Usage) error {
	now := time.Now()
	var images []any
	for _, i := range u.Images {
		id := strings.TrimPrefix(i.Image.GetId(), "sha256:")
		if len(id) > 12 {
			id = id[:12]
		}
		created := format.Ago(format.Time(i.Image.GetCreated()), now)
		tags := i.Image.GetRepoTags()
		if len(tags) == 0 {
			tags = []string{"<none>:<none>"}
		}
		for _, t := range tags {
			repo, tag := t, "<none>"
			if k := strings.LastIndex(t, ":"); k > 0 && !strings.Contains(t[k:], "/") {
				repo, tag = t[:k], t[k+1:]
			}
			images = append(images, dfImageRow{repo, tag, id, created, format.Size(i.GetSize()), format.Size(i.GetSharedSize()), format.Size(i.GetSize() - i.GetSharedSize()), fmt.Sprint(i.GetContainers())})
		}
	}
	var ctrs []any
	for _, c := range u.Containers {
		ctr := c.Container
		id := ctr.GetId()
		if len(id) > 12 {
			id = id[:12]
		}
		volumes := 0
		for _, m := range ctr.GetMounts() {
			if m.GetType() == "volume" {
				volumes++
			}
		}
		cmd := format.Ellipsis(`"`+strings.Join(append([]string{ctr.GetPath()}, ctr.GetArgs()...), " ")+`"`, 20)
		ctrs = append(ctrs, dfContainerRow{id, ctr.GetImage(), cmd, fmt.Sprint(volumes), format.Size(c.SizeRw),
			format.Ago(format.Time(ctr.GetCreated()), now), ctr.GetState().GetStatus(), strings.TrimPrefix(ctr.GetName(), "/")})
	}
	var vols []any
	for _, v := range u.Volumes {
		vols = append(vols, dfVolumeRow{v.Volume.GetName(), fmt.Sprint(v.RefCount), format.Size(v.Size)})
	}
	sections := []struct {
		title, tmpl string
		header      map[string]string
		rows        []any
	}{
		{"Images space usage:", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
			map[string]string{"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED", "Size": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "Containers": "CONTAINERS"}, images},
		{"Containers space usage:", "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
			map[string]string{"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE", "RunningFor": "CREATED", "Status": "STATUS", "Names": "NAMES"}, ctrs},
		{"Local Volumes space usage:", "table {{.Name}}\t{{.Links}}\t{{.Size}}",
			map[string]string{"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}, vols},
	}
	for _, s := range sections {
		fmt.Fprintf(out, "%s\n\n", s.title)
		f, err := format.Parse(s.tmpl, s.tmpl)
		if err != nil {
			return err
		}
		if err := f.Write(out, s.header, s.rows); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	if _, err := fmt.Fprintf(out, "Build cache usage: %s\n\n", format.Size(u.BuildCacheSize())); err != nil {
		return err
	}
	var cache []any
	for _, r := range u.BuildCache {
		id := r.GetId()
		if len(id) > 12 {
			id = id[:12]
		}
		cache = append(cache, dfCacheRow{
			ID: id, CacheType: "regular", Size: format.Size(r.GetSize()),
			CreatedSince: format.Ago(format.Time(r.GetCreated()), now), LastUsedSince: format.Ago(format.Time(r.GetLastUsed()), now),
			Shared: fmt.Sprint(r.GetShared()),
		})
	}
	const tmpl = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.Shared}}"
	f, err := format.Parse(tmpl, tmpl)
	if err != nil {
		return err
	}
	return f.Write(out, map[string]string{"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED", "LastUsedSince": "LAST USED", "Shared": "SHARED"}, cache)
}

type dfCacheRow struct {
	ID, CacheType, Size, CreatedSince, LastUsedSince, Shared string
}
