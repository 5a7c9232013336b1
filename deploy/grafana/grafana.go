// Package grafana builds unitcost's provisioned Grafana dashboard with the Grafana
// Foundation SDK (dashboards as code): unit cost per workflow type with the drift alerts'
// baseline band, cost composition by
// component, the shares the drift alerts watch, the drift alerts that fired and resolved, and
// the top workflows, over the ClickHouse
// datasource of provisioning/datasources. Each panel's SQL is a file in sql/ (checked on
// ClickHouse 18.16 by this package's tests and on current ClickHouse by sql/check_modern.py);
// dashboards/unitcost.json is the built dashboard, which the tests keep equal to Build's.
package grafana

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// SQL holds each panel's query (sql/*.sql).
//
//go:embed sql/*.sql
var SQL embed.FS

// datasource is the provisioned ClickHouse datasource (provisioning/datasources).
var datasource = common.DataSourceRef{Type: cog.ToPtr("grafana-clickhouse-datasource"), Uid: cog.ToPtr("unitcost-clickhouse")}

// query is a target of the ClickHouse datasource plugin (it has no builder in the SDK).
type query struct {
	RefID      string               `json:"refId"`
	Datasource common.DataSourceRef `json:"datasource"`
	EditorType string               `json:"editorType"`
	Format     int                  `json:"format"` // 0 time series, 1 table
	QueryType  string               `json:"queryType"`
	RawSQL     string               `json:"rawSql"`
}

var (
	_ variants.Dataquery              = query{}
	_ cog.Builder[variants.Dataquery] = query{}
)

func (query) ImplementsDataqueryVariant() {}
func (q query) Equals(other variants.Dataquery) bool {
	o, ok := other.(query)
	return ok && o.RawSQL == q.RawSQL
}
func (query) DataqueryType() string                { return "grafana-clickhouse-datasource" }
func (query) Validate() error                      { return nil }
func (q query) Build() (variants.Dataquery, error) { return q, nil }
func (q query) MarshalJSON() ([]byte, error)       { type plain query; return json.Marshal(plain(q)) }
func target(name string, table bool) cog.Builder[variants.Dataquery] {
	return targetRef("A", name, table)
}

func targetRef(ref, name string, table bool) cog.Builder[variants.Dataquery] {
	raw, err := SQL.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("grafana: no sql/%s.sql", name)) // embedded at build time: a missing file is a build error
	}
	q := query{RefID: ref, Datasource: datasource, EditorType: "sql", RawSQL: strings.TrimSpace(string(raw)), QueryType: "timeseries"}
	if table {
		q.Format, q.QueryType = 1, "table"
	}
	return q
}

// Build returns the unitcost dashboard.
func Build() (dashboard.Dashboard, error) {
	return dashboard.NewDashboardBuilder("unitcost: unit economics").
		Uid("unitcost-unit-economics").
		Tags([]string{"unitcost"}).
		Time("now-24h", "now").
		Refresh("1m").
		// a marker on every time series where a drift alert fired or resolved
		Annotation(dashboard.NewAnnotationQueryBuilder().Name("Drift alerts").Datasource(datasource).Enable(true).
			IconColor("red").Target(targetRef("Anno", "alert_markers", true))).
		WithPanel(timeseries.NewPanelBuilder().Title("Cost per completed workflow, per workflow type").
			Description("All cost of the type in the hour / its completed workflows (hourly rollups, by workflow start). "+
				"Dashed: the drift alerts' baseline band (band_low, band_high) of the first rule over every tenant on the type's "+
				"cost per completed workflow, hour by hour as `unitcost alert` evaluated it; the rule fires when the line leaves it.").
			Datasource(datasource).WithTarget(target("unit_cost", false)).WithTarget(targetRef("B", "unit_cost_band", false)).
			// the band's edges (query B): thin dashed lines, unfilled, not stacked
			WithOverride(dashboard.MatcherConfig{Id: "byFrameRefID", Options: "B"}, []dashboard.DynamicConfigValue{
				{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{6, 4}}},
				{Id: "custom.lineWidth", Value: 1},
				{Id: "custom.fillOpacity", Value: 0},
				{Id: "custom.showPoints", Value: "never"},
			}).
			Unit("currencyUSD").Min(0).Height(9).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Cost composition by component").
			Description("Model tokens, compute, retrieval, tools and human review per hour, stacked.").
			Datasource(datasource).WithTarget(target("composition", false)).Unit("currencyUSD").Min(0).FillOpacity(60).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).Height(9).Span(12)).
		WithPanel(timeseries.NewPanelBuilder().Title("Review share and unpriced share (what the drift alerts watch)").
			Description("unitcost alert fires on drifts of these; its firings are in the Drift alerts panel below.").
			Datasource(datasource).WithTarget(target("shares", false)).Unit("percent").Min(0).Height(8).Span(12)).
		WithPanel(table.NewPanelBuilder().Title("Drift alerts").
			Description("Alerts unitcost alert fired and resolved in the range, newest first (table alert_events): the value, " +
				"its baseline and the band's upper edge, in the metric's unit (dollars for cost_per_*, a 0-1 share, tokens).").
			Datasource(datasource).WithTarget(target("alerts", true)).Height(8).Span(12)).
		WithPanel(table.NewPanelBuilder().Title("Top workflows").
			Description("The most expensive workflows started in the range (from the line items).").
			Datasource(datasource).WithTarget(target("top_workflows", true)).Height(8).Span(12)).
		Build()
}

// JSON is the dashboard as provisioned (dashboards/unitcost.json).
func JSON() ([]byte, error) {
	d, err := Build()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
