use crate::helpers::{backends, expect_problem, spawn};

/// Parses the SVG as XML and returns the texts it draws.
fn svg_texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).map(str::to_owned).collect()
}

#[tokio::test]
async fn workflow_diagrams_in_svg_and_mermaid() {
    let app = spawn(backends()[0]).await;
    let token = app.court();

    let r = app.get("/api/v1/workflows/evidence_handover/diagram", &token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let texts = svg_texts(&r.text().await.unwrap()).join("\n");
    for state in ["requested", "handed_over", "disputed", "stored", "destroyed", "returned", "sold"] {
        assert!(texts.contains(state), "{state} is not drawn");
    }
    assert!(texts.contains("resolve_discrepancy (police + enforcement)"), "{texts}");

    let r = app.get("/api/v1/workflows/coercion_plan/diagram?format=mermaid&version=1", &token).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/vnd.mermaid"));
    let text = r.text().await.unwrap();
    assert!(text.contains("stateDiagram-v2"));
    assert!(text.contains("[*] --> drafted"));
    assert!(
        text.contains("protection_confirmed --> scheduled: schedule (enforcement) [complex = false]"),
        "{text}"
    );
    assert!(text.contains("title: Kế hoạch cưỡng chế thi hành án v1"), "{text}");

    expect_problem(
        app.get("/api/v1/workflows/coercion_plan/diagram?version=9", &token).await,
        404,
        "not_found",
    )
    .await;
    expect_problem(app.get("/api/v1/workflows/nope/diagram", &token).await, 404, "not_found").await;
    expect_problem(
        app.get("/api/v1/workflows/coercion_plan/diagram?format=png", &token).await,
        400,
        "malformed_request",
    )
    .await;
}

/// A liaison sees where an instance stands; an agency that is no party sees nothing.
#[tokio::test]
async fn instance_diagrams_highlight_the_current_state() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.fire(&id, &app.court(), "transfer", 1, app.transfer_data("Bản án").await).await.status(),
            200
        );

        let svg =
            app.get(&format!("/api/v1/instances/{id}/diagram"), &app.officer()).await.text().await.unwrap();
        svg_texts(&svg);
        // Exactly one state is filled as the current one, and it is "transferred".
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let current: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("fill").is_some_and(|f| f.starts_with("#ffd54f")))
            .collect();
        assert_eq!(current.len(), 1, "{svg}");
        // A box is drawn as <g><rect/></g> followed by the <text> of its label.
        let label =
            current[0].parent().and_then(|g| g.next_sibling_element()).expect("a label after the box");
        let drawn_after: String = label.descendants().filter_map(|n| n.text()).collect::<Vec<_>>().join(" ");
        assert!(
            drawn_after.contains("transferred"),
            "the highlighted box is not the current state: {drawn_after}"
        );

        let text = app.get(&format!("/api/v1/instances/{id}/diagram?format=mermaid"), &app.court()).await;
        let text = text.text().await.unwrap();
        assert!(text.contains("class transferred current"), "{text}");

        let police = app.token("police-1", "CA-HN", &[lienganh::domain::Role::PoliceLiaison]);
        expect_problem(app.get(&format!("/api/v1/instances/{id}/diagram"), &police).await, 404, "not_found")
            .await;
    }
}
