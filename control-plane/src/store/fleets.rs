//! Fleets: the broker fleets of each region, their capacity and state, and
//! placement (which fleet a new instance goes to). Knows nothing of gRPC.

use sqlx::FromRow;

use super::Store;

#[derive(Debug, Clone, FromRow)]
pub struct FleetRow {
    pub id: String,
    pub name: String,
    pub region: String,
    pub endpoint: String,
    pub capacity: i64,
    /// `active` or `draining`.
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Instances placed on it (computed, not stored).
    pub instances: i64,
}

/// A fleet as it is registered or changed.
#[derive(Debug, Clone)]
pub struct FleetSpec<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub endpoint: &'a str,
    pub capacity: i64,
}

macro_rules! fleet_insert {
    () => {
        "INSERT INTO fleets (id, name, region, endpoint, capacity, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $6)"
    };
}

macro_rules! fleet_select {
    () => {
        "SELECT f.id, f.name, f.region, f.endpoint, f.capacity, f.state, f.created_at, f.updated_at, \
         (SELECT COUNT(*) FROM instances i WHERE i.fleet_id = f.id) AS instances FROM fleets f "
    };
}

impl Store {
    /// Declares a fleet of the configuration: registered if new, its region,
    /// endpoint and capacity set to the configuration's if not (its state,
    /// e.g. draining, is kept). Then places the region's instances from before
    /// fleets were rows on it.
    pub async fn declare_fleet(&self, spec: &FleetSpec<'_>, now: i64) -> Result<(), sqlx::Error> {
        self.bind_fleet(
            concat!(
                fleet_insert!(),
                " ON CONFLICT (name) DO UPDATE SET region = excluded.region, endpoint = excluded.endpoint, \
                 capacity = excluded.capacity, updated_at = excluded.updated_at \
                 WHERE fleets.region <> excluded.region OR fleets.endpoint <> excluded.endpoint \
                 OR fleets.capacity <> excluded.capacity"
            ),
            &uuid::Uuid::now_v7().to_string(),
            spec,
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE instances SET fleet_id = (SELECT f.id FROM fleets f WHERE f.name = $1) \
             WHERE fleet_id IS NULL AND region = $2",
        )
        .bind(spec.name)
        .bind(spec.region)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Registers a fleet, `active`; a taken name is a unique violation.
    pub async fn insert_fleet(&self, id: &str, spec: &FleetSpec<'_>, now: i64) -> Result<(), sqlx::Error> {
        self.bind_fleet(fleet_insert!(), id, spec, now).await
    }

    /// Runs an insert of a fleet (`fleet_insert!`'s parameters).
    async fn bind_fleet(&self, sql: &'static str, id: &str, spec: &FleetSpec<'_>, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(sql)
            .bind(id)
            .bind(spec.name)
            .bind(spec.region)
            .bind(spec.endpoint)
            .bind(spec.capacity)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn fleet(&self, id: &str) -> Result<Option<FleetRow>, sqlx::Error> {
        sqlx::query_as(concat!(fleet_select!(), "WHERE f.id = $1")).bind(id).fetch_optional(&self.pool).await
    }

    /// A page of fleets in id (= registration) order, after `after`.
    pub async fn list_fleets(&self, after: Option<&str>, limit: i64) -> Result<Vec<FleetRow>, sqlx::Error> {
        sqlx::query_as(concat!(fleet_select!(), "WHERE f.id > $1 ORDER BY f.id LIMIT $2"))
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }

    /// Sets endpoint, capacity and state, if the fleet still has those of
    /// `current` (what the caller read); false when it changed meanwhile.
    pub async fn update_fleet(
        &self,
        current: &FleetRow,
        endpoint: &str,
        capacity: i64,
        state: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE fleets SET endpoint = $1, capacity = $2, state = $3, updated_at = $4 \
             WHERE id = $5 AND endpoint = $6 AND capacity = $7 AND state = $8",
        )
        .bind(endpoint)
        .bind(capacity)
        .bind(state)
        .bind(now)
        .bind(&current.id)
        .bind(&current.endpoint)
        .bind(current.capacity)
        .bind(&current.state)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a fleet that holds no instance; false when it holds some (or
    /// is gone).
    pub async fn delete_empty_fleet(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM fleets WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM instances WHERE fleet_id = $1)",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Where a new instance of `region` goes: the active fleet with room that
    /// is least loaded (instances over capacity), by name on a tie; `None`
    /// when every fleet of the region is full or draining.
    pub async fn place(&self, region: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT f.id FROM fleets f LEFT JOIN instances i ON i.fleet_id = f.id \
             WHERE f.region = $1 AND f.state = 'active' \
             GROUP BY f.id, f.name, f.capacity HAVING COUNT(i.id) < f.capacity \
             ORDER BY (COUNT(i.id) * 1.0) / f.capacity, f.name LIMIT 1",
        )
        .bind(region)
        .fetch_optional(&self.pool)
        .await
    }

    /// The regions that have a fleet, by name.
    pub async fn regions(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT DISTINCT region FROM fleets ORDER BY region").fetch_all(&self.pool).await
    }

    /// The instances placed on a fleet.
    pub async fn fleet_instance_ids(&self, fleet_id: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM instances WHERE fleet_id = $1 ORDER BY id")
            .bind(fleet_id)
            .fetch_all(&self.pool)
            .await
    }

    /// The gRPC endpoint of the fleet an instance is placed on.
    pub async fn instance_fleet_endpoint(&self, instance_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT f.endpoint FROM instances i JOIN fleets f ON f.id = i.fleet_id WHERE i.id = $1")
            .bind(instance_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Whether the user is a platform operator.
    pub async fn is_platform_operator(&self, user_id: &str) -> Result<bool, sqlx::Error> {
        let flag: Option<i64> = sqlx::query_scalar("SELECT platform_operator FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(flag == Some(1))
    }

    /// Makes the user with `email` a platform operator (or no longer one);
    /// false when there is no such user.
    pub async fn set_platform_operator(&self, email: &str, operator: bool) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE users SET platform_operator = $1 WHERE email = $2")
            .bind(i64::from(operator))
            .bind(email)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
