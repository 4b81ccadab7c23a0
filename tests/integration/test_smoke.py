from tests.factories.tenants import make_tenant


async def test_health_ready_checks_database_redis_and_store(http):
    # when
    response = await http.get("/health/ready")
    # then
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "object_store": "ok"}


async def test_tenant_provisioning_creates_schema_role_and_genesis_audit(services):
    # given / when
    owner = await make_tenant(services)
    # then
    from backend.audit.service import verify_chain

    async with services.db.tenant(owner.tenant.scope()) as db:
        result = await verify_chain(db)
    assert result.ok and result.entries_checked == 2  # tenant created, owner added
