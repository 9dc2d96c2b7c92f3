//! Learned templates (issue 24): `grouping_templates` holds the templates `hocd grouping learn` mined, one row per
//! template of the configuration version that learned them, never updated. A configuration version names the
//! version whose templates are in force (`templates_version`, `NULL` when none) and how many there are; a later
//! version written without learning keeps the same pointer, so templates are stored once.
//!
//! A new incident looks its candidates up by (tenant, templates version, field, token count, first token — cut to
//! 64 characters, the matcher compares the whole token).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum GroupingConfigs {
    Table,
    TemplatesVersion,
    TemplateCount,
}

#[derive(DeriveIden)]
enum GroupingTemplates {
    Table,
    TenantId,
    ConfigVersion,
    TemplateNo,
    Field,
    TokenCount,
    FirstToken,
    Template,
    MemberCount,
    JoinedTemplates,
    Examples,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for mut column in [
            big_integer_null(GroupingConfigs::TemplatesVersion),
            big_integer(GroupingConfigs::TemplateCount)
                .default(0)
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(GroupingConfigs::Table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(GroupingTemplates::Table)
                .col(string_len(GroupingTemplates::TenantId, 64))
                .col(big_integer(GroupingTemplates::ConfigVersion))
                .col(big_integer(GroupingTemplates::TemplateNo))
                .col(string_len(GroupingTemplates::Field, 20))
                .col(big_integer(GroupingTemplates::TokenCount))
                .col(string_len(GroupingTemplates::FirstToken, 64))
                .col(text(GroupingTemplates::Template))
                .col(big_integer(GroupingTemplates::MemberCount))
                .col(big_integer(GroupingTemplates::JoinedTemplates))
                .col(text(GroupingTemplates::Examples))
                .primary_key(
                    Index::create()
                        .col(GroupingTemplates::TenantId)
                        .col(GroupingTemplates::ConfigVersion)
                        .col(GroupingTemplates::TemplateNo),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_grouping_templates_match")
                .table(GroupingTemplates::Table)
                .col(GroupingTemplates::TenantId)
                .col(GroupingTemplates::ConfigVersion)
                .col(GroupingTemplates::Field)
                .col(GroupingTemplates::TokenCount)
                .col(GroupingTemplates::FirstToken)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(GroupingTemplates::Table).to_owned())
            .await?;
        for column in [
            GroupingConfigs::TemplatesVersion,
            GroupingConfigs::TemplateCount,
        ] {
            m.alter_table(
                Table::alter()
                    .table(GroupingConfigs::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
